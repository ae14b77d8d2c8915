package replica

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/ratelimit"
)

// BenchmarkAsyncLimiter is the request path of async mode: the cache lookup
// and the hit report, with a real engine taking the batches over loopback.
func BenchmarkAsyncLimiter(b *testing.B) {
	bus := &decisions.MemoryBus{}
	store := counter.NewMemory()
	b.Cleanup(func() { _ = store.Close() })
	addr, _ := engineServer(b, bus, store, "127.0.0.1:0")
	l := newTestAsync(b, addr, bus, EngineDownAllow)
	waitUntil(b, "engine", func() bool { return l.Health().EngineConnected })
	items := make([]*ratelimit.Item, 256)
	for i := range items {
		items[i] = hourItem(strconv.Itoa(i))
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
	time.Sleep(50 * time.Millisecond) // let the last flush land before Close
}
