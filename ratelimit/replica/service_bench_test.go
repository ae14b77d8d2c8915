package replica

import (
	"context"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/ratelimit"
)

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
	testkit.Eventually(b, "engine", func() bool { return l.Health().EngineConnected })
	svc := ratelimit.NewService(ratelimit.Options{Limiter: l})
	svc.SetSnapshot(asyncSnapshot(b))
	req := &rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{
		{Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "user", Value: "bench"}}},
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
