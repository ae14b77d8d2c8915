package ratelimit

import (
	"context"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/decisions/counter"
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

// BenchmarkShouldRateLimitAsync is one ShouldRateLimit in async mode:
// matching, key building, the decision cache, the hit report and the
// response, with a real engine taking the hits over loopback. The
// allocations it reports are the response Envoy receives and the key.
func BenchmarkShouldRateLimitAsync(b *testing.B) {
	bus := &decisions.MemoryBus{}
	store := counter.NewMemory()
	b.Cleanup(func() { _ = store.Close() })
	addr, _ := engineServer(b, bus, store, "127.0.0.1:0")
	l := newTestAsync(b, addr, bus, EngineDownAllow)
	waitUntil(b, "engine", func() bool { return l.Health().EngineConnected })
	svc := NewService(Options{Limiter: l})
	svc.SetSnapshot(compile(b, testPolicy))
	req := &rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{
		desc("remote_address", "10.1.2.3"),
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
