package decisions

import (
	"context"
	"math"
	"testing"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/policy"
)

// An hour's window: the counters' real expiry in Redis outlives the test.
const hourPolicy = `
domain: api
descriptors:
  - key: user
    rate_limit: {unit: hour, requests_per_unit: 10}
`

const hourT0 = 1_700_000_000 // 1699999200 starts its hour

func newHourEngine(t *testing.T, store counter.Store, pub Publisher, flush time.Duration) (*Engine, stats.Store) {
	t.Helper()
	st := stats.NewStore(stats.NewNullSink(), false)
	clk := &clock{now: time.Unix(hourT0, 0)}
	e, err := NewEngine(EngineOptions{ID: "e", Counter: store, Publisher: pub, FlushInterval: flush, Now: clk.Now, Stats: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testkit.Compile(t, hourPolicy))
	return e, st
}

func hourHit(user string, n uint64) *enginepb.Hit { return hit([]string{"user", user}, n, hourT0) }

// A replica may be old or forged: the engine caps each hit at
// policy.MaxHits and its pending sums saturate. Before, 3 then 2^64-3 hits
// in one batch summed to 0 and the key was never throttled.
func TestEngineCapsAndSaturatesHits(t *testing.T) {
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	pub := &publishLog{}
	e, st := newHourEngine(t, store, pub, time.Hour)
	want := 3 + uint64(policy.MaxHits)
	if got := e.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hourHit("w", 3), hourHit("w", math.MaxUint64-2)}}); got != want {
		t.Fatalf("accepted %d hits, want %d", got, want)
	}
	e.Flush(context.Background())
	ds := pub.take()
	if len(ds) != 1 || ds[0].State != Throttled || ds[0].Count != want {
		t.Fatalf("published %+v, want one throttle at count %d", ds, want)
	}
	if got := st.NewCounter("engine.hits_clamped").Value(); got != 1 {
		t.Fatalf("engine.hits_clamped = %d, want 1", got)
	}
}

// One key Redis refuses (a value of the wrong type) fails only itself: the
// other keys of the flush are counted and decided, and the refused key's
// hits wait for a later flush on their own. Before, the whole flush failed
// and was retried until the failing key's window ended, deciding nothing.
func TestEngineKeyErrorLeavesOtherKeysCounted(t *testing.T) {
	srv := testserver.Redis(t)
	client := redisClient(t, srv.Addr)
	pub := &publishLog{}
	e, st := newHourEngine(t, counter.NewRedis(client, ""), pub, time.Hour)
	ctx := context.Background()
	alice := "api_user_alice_1699999200"
	if err := client.LPush(ctx, alice, "not a counter").Err(); err != nil {
		t.Fatal(err)
	}

	e.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hourHit("alice", 5), hourHit("bob", 11)}})
	e.Flush(ctx)
	if ds := pub.take(); len(ds) != 1 || ds[0].Key != "api_user_bob_1699999200" || ds[0].Count != 11 {
		t.Fatalf("published %+v, want bob throttled at 11 beside alice's refused counter", ds)
	}
	if got := st.NewCounter("engine.counter_key_errors").Value(); got != 1 {
		t.Errorf("engine.counter_key_errors = %d, want 1", got)
	}
	if got := st.NewCounter("engine.counter_errors").Value(); got != 0 {
		t.Errorf("engine.counter_errors = %d, want 0: only one key failed", got)
	}

	// Once Redis takes alice's counter, her kept hits count once.
	if err := client.Del(ctx, alice).Err(); err != nil {
		t.Fatal(err)
	}
	e.Flush(ctx)
	e.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hourHit("alice", 6)}})
	e.Flush(ctx)
	if ds := pub.take(); len(ds) != 1 || ds[0].Key != alice || ds[0].Count != 11 {
		t.Fatalf("published %+v, want alice throttled at 11", ds)
	}
}

// Issue 16 item 1, on a real engine over loopback counting in real Redis:
// a hit of 2^63 (past INCRBY's range) made every flush fail, so a key
// streamed after it was never throttled. Now that hit is capped, its key is
// throttled, and so is the next one.
func TestEngineHugeHitOverLoopbackBlocksNoOtherKey(t *testing.T) {
	srv := testserver.Redis(t)
	client := redisClient(t, srv.Addr)
	clk := &clock{now: time.Unix(hourT0, 0)}
	bus := &MemoryBus{Now: clk.Now}
	e, st := newHourEngine(t, counter.NewRedis(client, ""), bus, 5*time.Millisecond)
	addr := serveEngine(t, e)
	var c collector
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = bus.Subscribe(ctx, c.apply) }()

	stream := openHitStream(t, ctx, addr)
	for i, h := range []*enginepb.Hit{hourHit("huge", 1<<63), hourHit("victim", 11)} {
		if err := stream.Send(&enginepb.HitBatch{ReplicaId: "r", Seq: uint64(i + 1), Hits: []*enginepb.Hit{h}}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, "both keys throttled", func() bool {
		k := c.keys()
		return k["api_user_huge_1699999200"] == Throttled && k["api_user_victim_1699999200"] == Throttled
	})
	if n, err := client.Get(ctx, "api_user_huge_1699999200").Uint64(); err != nil || n != policy.MaxHits {
		t.Fatalf("huge counter %d (%v), want policy.MaxHits", n, err)
	}
	if got := st.NewCounter("engine.counter_errors").Value(); got != 0 {
		t.Fatalf("engine.counter_errors = %d, want 0", got)
	}
	_ = stream.CloseSend()
}
