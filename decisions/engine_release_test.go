package decisions

import (
	"context"
	"fmt"
	"testing"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// A flush touches only the throttles that are due, however many are in
// force: with n throttles of one second and n of one minute, flushes with
// nothing due touch none, and the end of the second releases the n of
// that second touching no other. Before, each flush past the earliest
// window end walked the whole map. Counted against real Redis.
func TestEngineReleasesFollowChange(t *testing.T) {
	srv := testserver.Redis(t)
	const t0 = 1_700_000_040 // a minute's window ends 20 seconds later
	clk := &clock{now: time.Unix(t0, 0)}
	st := stats.NewStore(stats.NewNullSink(), false)
	pub := &publishLog{}
	e, err := NewEngine(EngineOptions{ID: "e", Counter: counter.NewRedis(redisClient(t, srv.Addr), ""), Publisher: pub,
		FlushInterval: time.Hour, Now: clk.Now, Stats: st, MaxDecisions: 2 * floodN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testkit.Compile(t, `
domain: api
descriptors:
  - key: user
    rate_limit: {unit: second, requests_per_unit: 10}
  - key: org
    rate_limit: {unit: minute, requests_per_unit: 10}
`))
	ctx := context.Background()
	const n = floodN / 10
	floodEngine(e, "user", n, t0)
	floodEngine(e, "org", n, t0)
	e.Flush(ctx)
	if got := len(pub.take()); got != 2*n {
		t.Fatalf("published %d throttles, want %d", got, 2*n)
	}
	checked := st.NewCounter("engine.decisions.release_checked")
	for range 5 {
		e.Flush(ctx)
	}
	if v := checked.Value(); v != 0 {
		t.Fatalf("5 flushes with nothing due touched %d throttles, want 0", v)
	}
	if g := st.NewGauge("engine.decisions.in_force").Value(); g != 2*n {
		t.Errorf("decisions.in_force = %d, want %d", g, 2*n)
	}
	clk.Set(time.Unix(t0+1, 0)) // the second's throttles end
	e.Flush(ctx)
	released := 0
	for _, d := range pub.take() {
		if d.State == Released {
			released++
		}
	}
	if released != n || checked.Value() != n {
		t.Fatalf("at the second's end: %d released, %d touched, want %d each", released, checked.Value(), n)
	}
	e.Flush(ctx)
	if checked.Value() != n || len(pub.take()) != 0 {
		t.Fatalf("a flush after the releases touched %d in all, want still %d", checked.Value(), n)
	}
}

// At MaxDecisions the engine refuses further throttles and says so, and
// keeps counting their hits.
func TestEngineDecisionCap(t *testing.T) {
	srv := testserver.Redis(t)
	const t0 = 1_700_000_000
	clk := &clock{now: time.Unix(t0, 0)}
	st := stats.NewStore(stats.NewNullSink(), false)
	pub := &publishLog{}
	const max, n = 100, 150
	rc := redisClient(t, srv.Addr)
	e, err := NewEngine(EngineOptions{ID: "e", Counter: counter.NewRedis(rc, ""), Publisher: pub,
		FlushInterval: time.Hour, Now: clk.Now, Stats: st, MaxDecisions: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testSnapshot(t))
	ctx := context.Background()
	floodEngine(e, "user", n, t0)
	e.Flush(ctx)
	if got := len(pub.take()); got != max {
		t.Fatalf("published %d throttles, want the cap %d", got, max)
	}
	if v := st.NewCounter("engine.decisions.refused_at_cap").Value(); v != n-max {
		t.Fatalf("decisions.refused_at_cap = %d, want %d", v, n-max)
	}
	// Every key was counted, refused ones included.
	keys, err := rc.Keys(ctx, "api_user_u*").Result()
	if err != nil || len(keys) != n {
		t.Fatalf("counters in Redis: %d (%v), want %d", len(keys), err, n)
	}
	// Once the window ends the room is back.
	clk.Set(time.Unix(t0+1, 0))
	e.Flush(ctx)
	pub.take()
	floodEngine(e, "user", n, t0+1)
	e.Flush(ctx)
	if got := len(pub.take()); got != max {
		t.Fatalf("the next window published %d throttles, want %d", got, max)
	}
}

// floodEngine sends n values of key 11 hits each at unix, one over a limit
// of 10.
func floodEngine(e *Engine, key string, n int, unix int64) {
	const per = 1000
	for start := 0; start < n; start += per {
		b := &enginepb.HitBatch{}
		for i := start; i < min(start+per, n); i++ {
			b.Hits = append(b.Hits, hit([]string{key, fmt.Sprintf("u%06d", i)}, 11, unix))
		}
		e.Ingest(b)
	}
}
