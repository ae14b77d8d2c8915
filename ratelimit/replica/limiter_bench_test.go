package replica

import (
	"context"
	"strconv"
	"testing"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/ratelimit"
)

// BenchmarkAsyncLimiter times Limiter.Limit with one item per call, from
// GOMAXPROCS goroutines (b.RunParallel): the decision-cache lookup, the
// count, and adding the hit to the reporter's pending batch. Nothing on that
// path touches the network.
//
// Settings: each goroutine cycles through the same 256 keys, each limited
// to 10 per hour, so after the first 2,816 calls in all (11 a key) every
// answer is over the limit, from the replica's own counts and then from the
// engine's throttle decisions; the hour window keeps the run clear of a
// window boundary. The replica flushes
// its hits every 5 ms to one real engine over loopback gRPC (in-memory
// counters, flush every 5 ms, decisions back over a MemoryBus); that work
// runs on the same cores while the timer runs, but is not what one op is.
//
// After the timer stops, Close flushes the last hits and drains the stream,
// and the benchmark fails unless every hit was either delivered or counted
// as dropped; it reports the dropped share as dropped/op.
func BenchmarkAsyncLimiter(b *testing.B) {
	bus := &decisions.MemoryBus{}
	store := counter.NewMemory()
	b.Cleanup(func() { _ = store.Close() })
	addr, _ := engineServer(b, bus, store, "127.0.0.1:0")
	st := stats.NewStore(stats.NewNullSink(), false)
	l, err := NewLimiter(Options{Mode: ModeReport,
		Engines: HitReporterOptions{Groups: [][]string{{addr}}, FlushInterval: 5 * time.Millisecond,
			Backoff: backoff.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}},
		Decisions: bus,
		Stats:     st,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	testkit.Eventually(b, "engine", func() bool { return l.Health().EngineConnected })
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

	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	reported := st.NewCounter("hit_reporter.hits_reported").Value()
	dropped := l.Health().DroppedHits
	if reported+dropped != uint64(b.N) {
		b.Fatalf("%d hits taken, %d reported and %d dropped after Close", b.N, reported, dropped)
	}
	b.ReportMetric(float64(dropped)/float64(b.N), "dropped/op")
}
