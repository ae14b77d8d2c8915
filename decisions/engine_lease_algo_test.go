package decisions

import (
	"context"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
)

const algoLeasePolicy = `
domain: api
descriptors:
  - key: sw
    rate_limit: {unit: minute, requests_per_unit: 100, algorithm: sliding_window}
  - key: tb
    rate_limit: {unit: second, requests_per_unit: 10, burst: 20, algorithm: token_bucket}
  - key: both
    rate_limits:
      - {unit: minute, requests_per_unit: 7, name: per_min}
      - {unit: hour, requests_per_unit: 9, name: per_hour}
`

// algoEngine is an engine over the in-process store on a clock stopped at
// *now.
func algoEngine(t *testing.T, now *time.Time) *Engine {
	t.Helper()
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	e, err := NewEngine(EngineOptions{Counter: store, Publisher: &MemoryBus{}, Logger: testkit.Quiet,
		Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testkit.Compile(t, algoLeasePolicy))
	return e
}

// drain asks for a's tokens until none are left and returns the tokens
// granted and the last grant.
func drain(t *testing.T, e *Engine, a *enginepb.LeaseAsk) (uint64, *enginepb.Grant) {
	t.Helper()
	var tokens uint64
	for range 100 {
		g := e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r", Asks: []*enginepb.LeaseAsk{a}}).GetGrants()[0]
		if g.GetStatus() != enginepb.Grant_OK {
			t.Fatalf("grant %v", g)
		}
		tokens += g.GetTokens()
		if g.GetTokens() == 0 {
			return tokens, g
		}
	}
	t.Fatal("grants never ran out")
	return 0, nil
}

// A sliding window grants its limit, then nothing until its estimate
// falls; the retry says when.
func TestEngineGrantsSlidingWindow(t *testing.T) {
	now := time.Unix(1_700_000_000-20+40, 0) // 40s into a minute
	e := algoEngine(t, &now)
	start := now.Unix() - 40
	tokens, g := drain(t, e, askFor(start, 1000, "sw", "a"))
	if tokens != 100 || g.GetRemaining() != 0 {
		t.Fatalf("granted %d, remaining %d; want the limit, 100, and nothing left", tokens, g.GetRemaining())
	}
	// Next window: ⌈100 × (1 − f)⌉ ≤ 99 from f = 0.01, 0.6s in.
	want := 20*time.Second + 600*time.Millisecond
	if got := time.Duration(g.GetRetryAfterMs()) * time.Millisecond; got < want-10*time.Millisecond || got > want+10*time.Millisecond {
		t.Fatalf("retry after %v, want %v", got, want)
	}
	// 30s into the next window half the previous count weighs: 50 more.
	now = now.Add(50 * time.Second)
	tokens, _ = drain(t, e, askFor(start+60, 1000, "sw", "a"))
	if tokens != 50 {
		t.Fatalf("halfway into the next window granted %d, want 50", tokens)
	}
}

// A token bucket grants its burst, then its rate; its lease lapses on
// the engine's clock.
func TestEngineGrantsTokenBucket(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	e := algoEngine(t, &now)
	tokens, g := drain(t, e, askFor(0, 1000, "tb", "a"))
	if tokens != 20 {
		t.Fatalf("granted %d, want the burst, 20", tokens)
	}
	if g.GetRetryAfterMs() != 100 || g.GetWindowEnd() != now.Add(bucketLeaseLife).Unix() {
		t.Fatalf("used up: retry after %dms, lease to %d; want 100ms, %d", g.GetRetryAfterMs(), g.GetWindowEnd(), now.Add(bucketLeaseLife).Unix())
	}
	now = now.Add(time.Second)
	if tokens, _ = drain(t, e, askFor(0, 1000, "tb", "a")); tokens != 10 {
		t.Fatalf("a second later granted %d, want the rate, 10", tokens)
	}
	// Tokens given back go back in the bucket.
	r := e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r", Asks: []*enginepb.LeaseAsk{{Domain: "api",
		Entries: []*enginepb.Entry{{Key: "tb", Value: "a"}}, Returned: 4}}})
	if g := r.GetGrants()[0]; g.GetRemaining() != 4 {
		t.Fatalf("after 4 returned: %v, want 4 remaining", g)
	}
}

// Each limit of rate_limits is granted by its index; an index past the
// list is no limit. Fixed windows are granted by the store's clock.
func TestEngineGrantsByLimitIndex(t *testing.T) {
	now := time.Now()
	e := algoEngine(t, &now)
	for i, want := range []uint32{7, 9} {
		a := askFor(now.Unix(), 1000, "both", "a")
		a.LimitIndex = uint32(i)
		tokens, g := drain(t, e, a)
		if g.GetLimit() != want || tokens != uint64(want) {
			t.Fatalf("limit %d: limit %d, granted %d; want %d", i, g.GetLimit(), tokens, want)
		}
	}
	a := askFor(now.Unix(), 1, "both", "a")
	a.LimitIndex = 2
	if g := e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r", Asks: []*enginepb.LeaseAsk{a}}).GetGrants()[0]; g.GetStatus() != enginepb.Grant_UNMATCHED {
		t.Fatalf("limit index 2 of 2: %v, want UNMATCHED", g)
	}
}
