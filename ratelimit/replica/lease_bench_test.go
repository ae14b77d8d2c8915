package replica

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// BenchmarkLeaseSpend times Limiter.Limit in lease mode with one item per
// call, from GOMAXPROCS goroutines (b.RunParallel), on keys whose leases
// hold tokens: the lease lookup and the atomic spend, the request path of
// every key busy enough to hold tokens ahead. Each goroutine cycles through
// the same 256 keys of a rule with a limit no run reaches, so the refills
// a lease asks for in the background (to one real engine over loopback gRPC,
// in-memory store) run on the same cores while the timer runs, but are not
// what one op is.
func BenchmarkLeaseSpend(b *testing.B) {
	store := counter.NewMemory()
	b.Cleanup(func() { _ = store.Close() })
	addr, _ := leaseEngine(b, store, "127.0.0.1:0")
	l := newLeaseLimiter(b, addr, Options{Leases: LeaseOptions{MaxReplicas: 1}})
	testkit.Eventually(b, "engine", func() bool { return l.Health().EngineConnected })
	now := time.Now()
	items := make([]*ratelimit.Item, 256)
	for i := range items {
		items[i] = leaseItem("bench", strconv.Itoa(i), 1<<31, policy.Hour, now)
		if !admit(b, l, items[i]) {
			b.Fatal("denied under the limit")
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		one := make([]*ratelimit.Item, 1)
		it := &ratelimit.Item{}
		i := 0
		for pb.Next() {
			*it = *items[i&255]
			one[0] = it
			_ = l.Limit(ctx, one)
			i++
		}
	})
	b.StopTimer()
	denied := l.lc.st.exhausted.Value() + l.lc.st.waitTimeouts.Value() + l.lc.st.fallbackDenied.Value()
	b.ReportMetric(float64(l.lc.st.waits.Value())/float64(b.N), "waits/op")
	b.ReportMetric(float64(denied)/float64(b.N), "denied/op")
}
