package decisions

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
)

// Hits of many distinct large values: the pending map and the throttles
// kept stay within their byte budgets, and what they drop is counted.
func TestEngineByteBudgets(t *testing.T) {
	const t0 = 1_700_000_000
	const budget = 16 << 10
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	st := gostats.NewStore(gostats.NewNullSink(), false)
	e, err := NewEngine(EngineOptions{Counter: store, Publisher: &publishLog{}, FlushInterval: time.Hour,
		MaxPendingBytes: budget, MaxThrottledBytes: budget, Stats: st, Logger: testkit.Quiet,
		Now: (&clock{now: time.Unix(t0, 0)}).Now})
	if err != nil {
		t.Fatal(err)
	}
	e.SetSnapshot(testSnapshot(t))
	t.Cleanup(func() { _ = e.Close() })
	value := strings.Repeat("v", 8<<10)
	for i := range 500 {
		// 11 hits: over the limit of 10, so each key is throttled.
		e.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hit([]string{"user", strconv.Itoa(i) + value}, 11, t0)}})
		if b := e.PendingBytes(); b > budget {
			t.Fatalf("pending holds %d bytes, budget %d", b, budget)
		}
		if i%100 == 99 { // 100 digested keys pass the budget
			e.Flush(context.Background())
		}
	}
	e.Flush(context.Background())
	if n := st.NewCounter("engine.hits_dropped").Value(); n == 0 {
		t.Error("pending: no dropped hit counted")
	}
	if b := e.ThrottledBytes(); b > budget || b == 0 {
		t.Errorf("throttles held: %d bytes, budget %d", b, budget)
	}
	if n := st.NewCounter("engine.decisions.throttled_evicted").Value(); n == 0 {
		t.Error("throttles: no eviction counted")
	}
}
