package decisions

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

const testPolicy = `
domain: api
descriptors:
  - key: user
    rate_limit:
      unit: second
      requests_per_unit: 10
  - key: free
    rate_limit:
      unlimited: true
  - key: shared
    value: "team*"
    share_threshold: true
    rate_limit:
      unit: minute
      requests_per_unit: 5
`

func testSnapshot(t testing.TB) *policy.Snapshot { return testkit.Compile(t, testPolicy) }

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// publishLog records what an engine published.
type publishLog struct {
	mu   sync.Mutex
	ds   []Decision
	fail bool
}

func (p *publishLog) Publish(_ context.Context, ds []Decision) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return context.DeadlineExceeded
	}
	p.ds = append(p.ds, ds...)
	return nil
}

func (p *publishLog) take() []Decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	ds := p.ds
	p.ds = nil
	return ds
}

func newTestEngine(t testing.TB, store counter.Store, pub Publisher, clk *clock, prefix string) *Engine {
	t.Helper()
	e, err := NewEngine(EngineOptions{
		ID: "e-" + prefix, Counter: store, Publisher: pub, CounterPrefix: prefix,
		FlushInterval: time.Hour, // the tests flush by hand
		Now:           clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.SetSnapshot(testSnapshot(t))
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func hit(entries []string, n uint64, at int64) *enginepb.Hit {
	h := &enginepb.Hit{Domain: "api", Hits: n, UnixTime: at}
	for i := 0; i+1 < len(entries); i += 2 {
		h.Entries = append(h.Entries, &enginepb.Entry{Key: entries[i], Value: entries[i+1]})
	}
	return h
}

func TestEngineCountsAndDecides(t *testing.T) {
	const t0 = 1_700_000_000
	clk := &clock{now: time.Unix(t0, 0)}
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	pub := &publishLog{}
	e := newTestEngine(t, store, pub, clk, "")
	ctx := context.Background()

	tests := []struct {
		name     string
		hits     []*enginepb.Hit
		accepted uint64
		want     []Decision // compared on Key, State, Count, Limit, WindowEnd
	}{
		{"under the limit", []*enginepb.Hit{hit([]string{"user", "alice"}, 6, t0), hit([]string{"user", "alice"}, 4, t0)}, 10, nil},
		{"crossing", []*enginepb.Hit{hit([]string{"user", "alice"}, 1, t0)}, 1,
			[]Decision{{Key: "api_user_alice_1700000000", State: Throttled, Count: 11, Limit: 10, WindowEnd: t0 + 1}}},
		{"already throttled", []*enginepb.Hit{hit([]string{"user", "alice"}, 5, t0)}, 5, nil},
		{"unmatched and unlimited", []*enginepb.Hit{hit([]string{"nope", "x"}, 50, t0), hit([]string{"free", "x"}, 50, t0)}, 0, nil},
		{"stale window", []*enginepb.Hit{hit([]string{"user", "bob"}, 50, t0-10)}, 0, nil},
		{"shared value", []*enginepb.Hit{hit([]string{"shared", "team-a"}, 3, t0), hit([]string{"shared", "team-b"}, 3, t0)}, 6,
			[]Decision{{Key: "api_shared_team*_1699999980", State: Throttled, Count: 6, Limit: 5, WindowEnd: 1700000040}}},
		{"override", []*enginepb.Hit{{Domain: "api", Hits: 3, UnixTime: t0,
			Entries: []*enginepb.Entry{{Key: "user", Value: "carol"}},
			Limit:   &enginepb.LimitOverride{RequestsPerUnit: 2, Unit: "MINUTE"}}}, 3,
			[]Decision{{Key: "api_user_carol_%2/MINUTE_1699999980", State: Throttled, Count: 3, Limit: 2, WindowEnd: 1700000040}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Ingest(&enginepb.HitBatch{Hits: tt.hits}); got != tt.accepted {
				t.Errorf("accepted %d hits, want %d", got, tt.accepted)
			}
			e.Flush(ctx)
			got := pub.take()
			if len(got) != len(tt.want) {
				t.Fatalf("published %+v, want %+v", got, tt.want)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Key != w.Key || g.State != w.State || g.Count != w.Count || g.Limit != w.Limit ||
					g.WindowEnd != w.WindowEnd || g.Engine != e.ID() || g.Domain != "api" {
					t.Errorf("decision %+v, want %+v", g, w)
				}
			}
		})
	}

	// The second ends: alice's throttle is released, the others stay.
	clk.Set(time.Unix(t0+1, 0))
	e.Flush(ctx)
	got := pub.take()
	if len(got) != 1 || got[0].Key != "api_user_alice_1700000000" || got[0].State != Released {
		t.Fatalf("at window end published %+v, want alice released", got)
	}
	e.Flush(ctx)
	if got := pub.take(); len(got) != 0 {
		t.Fatalf("released twice: %+v", got)
	}
}

// Engines sharing a counter store share one count; a new engine on the same
// store continues it.
func TestEngineSharedStore(t *testing.T) {
	const t0 = 1_700_000_000
	clk := &clock{now: time.Unix(t0, 0)}
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	pub := &publishLog{}
	a := newTestEngine(t, store, pub, clk, "")
	b := newTestEngine(t, store, pub, clk, "")
	other := newTestEngine(t, store, pub, clk, "group2:")
	ctx := context.Background()

	for _, e := range []*Engine{a, b, other} {
		e.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hit([]string{"user", "alice"}, 5, t0)}})
		e.Flush(ctx)
	}
	if got := pub.take(); len(got) != 0 {
		t.Fatalf("10 hits over two engines published %+v", got)
	}
	_ = a.Close()
	c := newTestEngine(t, store, pub, clk, "")
	c.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hit([]string{"user", "alice"}, 1, t0)}})
	c.Flush(ctx)
	got := pub.take()
	if len(got) != 1 || got[0].Count != 11 || got[0].Engine != c.ID() {
		t.Fatalf("restarted engine published %+v, want one throttle at count 11", got)
	}
}

// Hits survive a failing counter store, and a failed publish is retried.
func TestEngineRetries(t *testing.T) {
	const t0 = 1_700_000_000
	clk := &clock{now: time.Unix(t0, 0)}
	store := &flakyStore{Store: counter.NewMemory()}
	t.Cleanup(func() { _ = store.Close() })
	pub := &publishLog{}
	e := newTestEngine(t, store, pub, clk, "")
	ctx := context.Background()

	store.setFail(true)
	pub.fail = true
	e.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hit([]string{"user", "alice"}, 11, t0)}})
	e.Flush(ctx)
	store.setFail(false)
	e.Flush(ctx) // counts 11, publish fails
	pub.mu.Lock()
	pub.fail = false
	pub.mu.Unlock()
	e.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hit([]string{"user", "alice"}, 1, t0)}})
	e.Flush(ctx)
	got := pub.take()
	if len(got) != 1 || got[0].Count != 12 {
		t.Fatalf("published %+v, want one throttle at count 12", got)
	}
}

type flakyStore struct {
	counter.Store
	mu   sync.Mutex
	fail bool
}

func (f *flakyStore) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

func (f *flakyStore) Add(ctx context.Context, incs []counter.Increment, counts []uint64) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return context.DeadlineExceeded
	}
	return f.Store.Add(ctx, incs, counts)
}

// serveEngine serves e on a loopback port until the test ends.
func serveEngine(t testing.TB, e *Engine) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	e.Register(s)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

// openHitStream opens a hit stream to the engine at addr, as a replica
// does; it ends with ctx or the test.
func openHitStream(t testing.TB, ctx context.Context, addr string) grpc.BidiStreamingClient[enginepb.HitBatch, enginepb.BatchAck] {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	st, err := enginepb.NewThrottleEngineClient(cc).StreamHits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestEngineStreamHits(t *testing.T) {
	// The engine and the bus read a clock that stands still, so no window
	// ends while the test runs.
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	now := clk.Now().Unix()
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	bus := &MemoryBus{Now: clk.Now}
	e, err := NewEngine(EngineOptions{Counter: store, Publisher: bus, FlushInterval: 5 * time.Millisecond, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.SetSnapshot(testSnapshot(t))
	addr := serveEngine(t, e)
	var c collector
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = bus.Subscribe(ctx, c.apply) }()

	st := openHitStream(t, ctx, addr)
	for i := range 3 {
		if err := st.Send(&enginepb.HitBatch{ReplicaId: "r", Seq: uint64(i + 1),
			Hits: []*enginepb.Hit{hit([]string{"shared", "team-x"}, 2, now)}}); err != nil {
			t.Fatal(err)
		}
		ack, err := st.Recv()
		if err != nil || ack.Seq != uint64(i+1) || ack.Hits != 2 {
			t.Fatalf("ack %v, %v", ack, err)
		}
	}
	testkit.Eventually(t, "throttle decision", func() bool { return len(c.keys()) == 1 })
	_ = st.CloseSend()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}
