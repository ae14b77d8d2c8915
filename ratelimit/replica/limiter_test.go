package replica

import (
	"context"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

const asyncTestPolicy = `
domain: api
descriptors:
  - key: user
    rate_limit:
      unit: hour
      requests_per_unit: 10
`

func asyncSnapshot(t testing.TB) *policy.Snapshot { return testkit.Compile(t, asyncTestPolicy) }

// engineServer serves a real engine on the test policy on a loopback port;
// stop ends it.
func engineServer(t testing.TB, bus decisions.Publisher, store counter.Store, addr string) (string, func()) {
	t.Helper()
	return policyEngine(t, asyncSnapshot(t), bus, store, addr)
}

// policyEngine serves a real engine on snap on a loopback port, from addr
// ("127.0.0.1:0" for any); stop ends it.
func policyEngine(t testing.TB, snap *policy.Snapshot, bus decisions.Publisher, store counter.Store, addr string) (string, func()) {
	t.Helper()
	e, err := decisions.NewEngine(decisions.EngineOptions{Counter: store, Publisher: bus, FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.SetSnapshot(snap)
	l := listenAgain(t, addr)
	s := grpc.NewServer()
	e.Register(s)
	go func() { _ = s.Serve(l) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			s.Stop()
			_ = e.Close()
		}
	}
	t.Cleanup(stop)
	return l.Addr().String(), stop
}

func newTestAsync(t testing.TB, addr string, bus decisions.Subscriber, down OnEngineDown) *Limiter {
	t.Helper()
	l, err := NewLimiter(Options{Mode: ModeReport,
		Engines: HitReporterOptions{Groups: [][]string{{addr}}, FlushInterval: 5 * time.Millisecond,
			Backoff: backoff.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}},
		Decisions:    bus,
		OnEngineDown: down,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// An hour window keeps the tests clear of a window boundary.
func hourItem(user string) *ratelimit.Item {
	entries := []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "user", Value: user}}
	start := policy.Hour.WindowStart(time.Now().Unix())
	return &ratelimit.Item{Domain: "api", Entries: entries, RequestsPerUnit: 10, Unit: policy.Hour, Hits: 1,
		Key: string(policy.AppendCacheKey(nil, "", "api", entries, nil, start)), WindowStart: start}
}

func limitOne(t testing.TB, l *Limiter, it *ratelimit.Item) uint64 {
	t.Helper()
	if err := l.Limit(context.Background(), []*ratelimit.Item{it}); err != nil {
		t.Fatal(err)
	}
	return it.Count
}

// Two replicas share one engine: neither alone passes the limit, together
// they do, and then both answer over the limit.
func TestAsyncLimiterEnforcesAcrossReplicas(t *testing.T) {
	bus := &decisions.MemoryBus{}
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	addr, _ := engineServer(t, bus, store, "127.0.0.1:0")
	a := newTestAsync(t, addr, bus, EngineDownAllow)
	b := newTestAsync(t, addr, bus, EngineDownAllow)
	testkit.Eventually(t, "engines", func() bool { return a.Health().EngineConnected && b.Health().EngineConnected })

	for i := range 6 {
		if got := limitOne(t, a, hourItem("alice")); got != uint64(i+1) {
			t.Fatalf("replica a request %d: count %d, want the local count %d", i+1, got, i+1)
		}
	}
	for range 5 {
		if got := limitOne(t, b, hourItem("alice")); got > 10 {
			t.Fatalf("replica b over the limit on its own count %d", got)
		}
	}
	// 11 hits in all: the engine throttles, and both replicas learn it.
	testkit.Eventually(t, "throttle on both", func() bool {
		return limitOne(t, a, hourItem("alice")) > 10 && limitOne(t, b, hourItem("alice")) > 10
	})
	if got := limitOne(t, a, hourItem("bob")); got != 1 {
		t.Fatalf("another key counts %d", got)
	}
	h := a.Health()
	if !h.BusConnected || !h.EngineConnected || h.EnginesConnected != 1 || h.CacheEntries < 2 {
		t.Fatalf("health %+v", h)
	}
}

// With the engine gone a replica keeps answering: from its local counts by
// default, over the limit with EngineDownDeny; both recover when the engine
// is back.
func TestAsyncLimiterEngineDown(t *testing.T) {
	bus := &decisions.MemoryBus{}
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	addr, stop := engineServer(t, bus, store, "127.0.0.1:0")
	allow := newTestAsync(t, addr, bus, EngineDownAllow)
	deny := newTestAsync(t, addr, bus, EngineDownDeny)
	testkit.Eventually(t, "engines", func() bool { return allow.Health().EngineConnected && deny.Health().EngineConnected })
	if got := limitOne(t, deny, hourItem("x")); got != 1 {
		t.Fatalf("deny replica with the engine up: count %d", got)
	}

	stop()
	testkit.Eventually(t, "engine down", func() bool { return !allow.Health().EngineConnected && !deny.Health().EngineConnected })
	for i := range 10 {
		if got := limitOne(t, allow, hourItem("y")); got != uint64(i+1) {
			t.Fatalf("allow replica: count %d, want %d", got, i+1)
		}
	}
	if got := limitOne(t, allow, hourItem("y")); got != 11 {
		t.Fatalf("allow replica does not enforce its local count: %d", got)
	}
	if got := limitOne(t, deny, hourItem("z")); got <= 10 {
		t.Fatalf("deny replica answered count %d with no engine", got)
	}
	testkit.Eventually(t, "dropped hits counted", func() bool { return allow.Health().DroppedHits > 0 })

	engineServer(t, bus, store, addr)
	testkit.Eventually(t, "engine back", func() bool { return allow.Health().EngineConnected && deny.Health().EngineConnected })
	if got := limitOne(t, deny, hourItem("w")); got != 1 {
		t.Fatalf("deny replica after recovery: count %d", got)
	}
}

func TestAsyncLimiterOptions(t *testing.T) {
	if _, err := NewLimiter(Options{Mode: ModeReport, Engines: HitReporterOptions{Groups: [][]string{{"127.0.0.1:1"}}}}); err == nil {
		t.Error("no subscriber accepted")
	}
	for s, want := range map[string]OnEngineDown{"": EngineDownShare, "share": EngineDownShare, "allow": EngineDownAllow, "DENY": EngineDownDeny} {
		if got, err := ParseOnEngineDown(s); err != nil || got != want {
			t.Errorf("ParseOnEngineDown(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseOnEngineDown("maybe"); err == nil {
		t.Error("ParseOnEngineDown accepted maybe")
	}
}

// endWatchedSubscriber is a decision subscriber that says when Subscribe
// has started and when it has returned.
type endWatchedSubscriber struct {
	decisions.Subscriber
	started, ended chan struct{}
}

func (s *endWatchedSubscriber) Subscribe(ctx context.Context, apply func(decisions.Decision)) error {
	close(s.started)
	defer close(s.ended)
	return s.Subscriber.Subscribe(ctx, apply)
}

// closeWithin calls Close and fails t if it does not return within the
// budget, instead of hanging the package.
func closeWithin(t *testing.T, l *Limiter) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	if err := testkit.Receive(t, "Close to return", closed); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// Close stops everything the limiter runs: it flushes the hits taken so far
// to the engine and ends the engine stream, and it ends the decision
// subscription (and the sweeper, which Close waits for with it). Limit
// after Close still answers from the replica's own counts.
func TestAsyncLimiterClose(t *testing.T) {
	eng := startRecordingEngine(t)
	sub := &endWatchedSubscriber{Subscriber: &decisions.MemoryBus{}, started: make(chan struct{}), ended: make(chan struct{})}
	// An hour between flushes: the hits can only reach the engine through
	// the flush that Close does.
	l, err := NewLimiter(Options{Mode: ModeReport, Engines: HitReporterOptions{Groups: [][]string{{eng.addr}}, FlushInterval: time.Hour}, Decisions: sub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	testkit.Eventually(t, "the engine stream", func() bool { return l.Health().EngineConnected && eng.openStreams() == 1 })
	testkit.Receive(t, "the decision subscription", sub.started)
	for i := range 3 {
		if got := limitOne(t, l, hourItem("x")); got != uint64(i+1) {
			t.Fatalf("request %d: count %d", i+1, got)
		}
	}

	closeWithin(t, l)
	select {
	case <-sub.ended:
	default:
		t.Fatal("Close returned while the decision subscription still runs")
	}
	testkit.Eventually(t, "the engine to get the 3 hits taken before Close, and its hit stream to end", func() bool {
		return eng.hits()["api_user_x"] == 3 && eng.openStreams() == 0
	})
	if h := l.Health(); h.EngineConnected || h.EnginesConnected != 0 || h.DroppedHits != 0 {
		t.Fatalf("health after Close: %+v", h)
	}
	if got := limitOne(t, l, hourItem("x")); got != 4 {
		t.Fatalf("Limit after Close: count %d, want 4 from the replica's own counts", got)
	}
	closeWithin(t, l) // a second Close is harmless
}

// With no engine reachable Close returns all the same, and the hit it could
// not deliver is counted as dropped.
func TestAsyncLimiterCloseWithoutEngine(t *testing.T) {
	l := newTestAsync(t, "127.0.0.1:1", &decisions.MemoryBus{}, EngineDownAllow)
	limitOne(t, l, hourItem("x"))
	closeWithin(t, l)
	if h := l.Health(); h.DroppedHits != 1 {
		t.Fatalf("dropped hits after Close = %d, want 1", h.DroppedHits)
	}
}
