package ratelimit

import (
	"context"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/counter"
)

// BenchmarkShouldRateLimitExactMemory is one ShouldRateLimit through the
// matcher and the in-process store, without the gRPC transport.
func BenchmarkShouldRateLimitExactMemory(b *testing.B) {
	mem := counter.NewMemory()
	defer mem.Close()
	now := time.Now()
	svc := NewService(Options{Limiter: NewExactLimiter(mem), Now: func() time.Time { return now }})
	svc.SetSnapshot(compile(b, testPolicy))
	req := &rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{
		desc("remote_address", "10.1.2.3"), desc("path", "/search/x"),
	}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.ShouldRateLimit(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
