package replica

import (
	"context"
	"math"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/ratelimit"
)

// A local count saturates: before, 3 then 2^64-3 hits wrapped it to 0.
func TestDecisionCacheLocalCountSaturates(t *testing.T) {
	c := NewDecisionCache(DecisionCacheOptions{})
	const key, end, now = "api_user_w_100", int64(200), int64(100)
	for i, step := range []struct{ hits, wantLocal uint64 }{
		{3, 0}, {math.MaxUint64 - 2, 3}, {1, math.MaxUint64}, {math.MaxUint64, math.MaxUint64}, {0, math.MaxUint64},
	} {
		if got := c.Hit(key, end, step.hits, now); got.Local != step.wantLocal {
			t.Fatalf("hit %d (%d hits): local count before %d, want %d", i, step.hits, got.Local, step.wantLocal)
		}
	}
}

// The reproducer in async mode, through the RLS and a real engine
// on loopback: two requests on one fresh key, hits 3 then 2^64-3. Before,
// the second wrapped the replica's count to 0 and was answered OK.
func TestAsyncHugeHitsNeverWrapTheCount(t *testing.T) {
	bus := &decisions.MemoryBus{}
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	addr, _ := engineServer(t, bus, store, "127.0.0.1:0")
	l := newTestAsync(t, addr, bus, EngineDownAllow)
	testkit.Eventually(t, "engine", func() bool { return l.Health().EngineConnected })
	svc := ratelimit.NewService(ratelimit.Options{Limiter: l})
	svc.SetSnapshot(asyncSnapshot(t))

	// The limit is 10 an hour: 3 hits are within it, the rest over.
	for i, step := range []struct {
		hits uint64
		want rlsv3.RateLimitResponse_Code
	}{
		{3, rlsv3.RateLimitResponse_OK},
		{math.MaxUint64 - 2, rlsv3.RateLimitResponse_OVER_LIMIT},
		{1, rlsv3.RateLimitResponse_OVER_LIMIT},
		{1 << 63, rlsv3.RateLimitResponse_OVER_LIMIT},
	} {
		d := &ratelimitv3.RateLimitDescriptor{
			Entries:    []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "user", Value: "wrap"}},
			HitsAddend: wrapperspb.UInt64(step.hits),
		}
		resp, err := svc.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{d}})
		if err != nil {
			t.Fatalf("request %d (%d hits): %v", i, step.hits, err)
		}
		if resp.OverallCode != step.want {
			t.Fatalf("request %d (%d hits): %s, want %s", i, step.hits, resp.OverallCode, step.want)
		}
	}
}
