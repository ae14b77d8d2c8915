package replica

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// recordingEngine is a ThrottleEngine on a real loopback gRPC server that
// keeps every batch it gets. Stop and Start restart it on the same port.
type recordingEngine struct {
	enginepb.UnimplementedThrottleEngineServer
	t    testing.TB
	addr string

	mu      sync.Mutex
	batches []*enginepb.HitBatch
	open    int // streams whose handler has not returned
	srv     *grpc.Server
}

func startRecordingEngine(t testing.TB) *recordingEngine {
	t.Helper()
	r := &recordingEngine{t: t, addr: "127.0.0.1:0"}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

func (r *recordingEngine) Start() {
	r.t.Helper()
	l := listenAgain(r.t, r.addr)
	r.addr = l.Addr().String()
	s := grpc.NewServer()
	enginepb.RegisterThrottleEngineServer(s, r)
	r.mu.Lock()
	r.srv = s
	r.mu.Unlock()
	go func() { _ = s.Serve(l) }()
}

func (r *recordingEngine) Stop() {
	r.mu.Lock()
	s := r.srv
	r.srv = nil
	r.mu.Unlock()
	if s != nil {
		s.Stop()
	}
}

// listenAgain listens on addr, retrying while the port of a server just
// stopped there is still being released.
func listenAgain(t testing.TB, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	var err error
	testkit.Eventually(t, "listening on "+addr, func() bool {
		l, err = net.Listen("tcp", addr)
		return err == nil
	})
	return l
}

func (r *recordingEngine) StreamHits(st grpc.BidiStreamingServer[enginepb.HitBatch, enginepb.BatchAck]) error {
	r.mu.Lock()
	r.open++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.open--
		r.mu.Unlock()
	}()
	if err := st.SendHeader(nil); err != nil {
		return err
	}
	for {
		b, err := st.Recv()
		if err != nil {
			return nil
		}
		r.mu.Lock()
		r.batches = append(r.batches, b)
		r.mu.Unlock()
		if err := st.Send(&enginepb.BatchAck{Seq: b.Seq}); err != nil {
			return err
		}
	}
}

// hits sums the hits received per key ("domain_k_v").
func (r *recordingEngine) hits() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]uint64)
	for _, b := range r.batches {
		for _, h := range b.Hits {
			k := h.Domain
			for _, e := range h.Entries {
				k += "_" + e.Key + "_" + e.Value
			}
			m[k] += h.Hits
		}
	}
	return m
}

func (r *recordingEngine) total() uint64 {
	var n uint64
	for _, v := range r.hits() {
		n += v
	}
	return n
}

// openStreams counts the hit streams the engine is still serving.
func (r *recordingEngine) openStreams() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open
}

func (r *recordingEngine) seqs() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []uint64
	for _, b := range r.batches {
		s = append(s, b.Seq)
	}
	return s
}

func testItem(value string, hits uint64) *ratelimit.Item {
	entries := []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "user", Value: value}}
	start := policy.Second.WindowStart(time.Now().Unix())
	return &ratelimit.Item{
		Domain: "api", Entries: entries, RequestsPerUnit: 10, Unit: policy.Second,
		Key:         string(policy.AppendCacheKey(nil, "", "api", entries, nil, start)),
		WindowStart: start, Hits: hits,
	}
}

func newTestReporter(t testing.TB, o HitReporterOptions) *HitReporter {
	t.Helper()
	if o.FlushInterval == 0 {
		o.FlushInterval = 5 * time.Millisecond
	}
	o.Backoff = backoff.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	r, err := NewHitReporter(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestHitReporterAggregates(t *testing.T) {
	eng := startRecordingEngine(t)
	r := newTestReporter(t, HitReporterOptions{Groups: [][]string{{eng.addr}}, FlushInterval: time.Hour})
	testkit.Eventually(t, "engine stream", r.Connected)
	for i := range 1000 {
		r.Report(testItem(strconv.Itoa(i%3), 1))
	}
	r.Report(&ratelimit.Item{Domain: "api", Key: "override", Hits: 4, Override: true, RequestsPerUnit: 2, Unit: policy.Minute,
		Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "o", Value: "v"}}})
	_ = r.Close() // flushes
	got := eng.hits()
	want := map[string]uint64{"api_user_0": 334, "api_user_1": 333, "api_user_2": 333, "api_o_v": 4}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("engine got %d hits for %s, want %d (all: %v)", got[k], k, v, got)
		}
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if len(eng.batches) != 1 || len(eng.batches[0].Hits) != 4 {
		t.Fatalf("got %d batches, want one holding 4 keys", len(eng.batches))
	}
	for _, h := range eng.batches[0].Hits {
		if h.Domain == "api" && len(h.Entries) == 1 && h.Entries[0].Key == "o" {
			if h.Limit.GetRequestsPerUnit() != 2 || h.Limit.GetUnit() != "MINUTE" {
				t.Errorf("override sent as %v", h.Limit)
			}
		} else if h.Limit != nil {
			t.Errorf("hit %v carries an override", h)
		}
	}
}

func TestHitReporterOverflow(t *testing.T) {
	eng := startRecordingEngine(t)
	r := newTestReporter(t, HitReporterOptions{Groups: [][]string{{eng.addr}}, FlushInterval: time.Hour, MaxKeys: 32})
	testkit.Eventually(t, "engine stream", r.Connected)
	for i := range 1000 {
		r.Report(testItem(strconv.Itoa(i), 1))
	}
	dropped := r.DroppedHits()
	if dropped == 0 || dropped == 1000 {
		t.Fatalf("dropped %d of 1000 hits over 32 keys", dropped)
	}
	_ = r.Close()
	if got := eng.total(); got+dropped != 1000 {
		t.Fatalf("engine got %d hits and %d were dropped, want 1000 in all", got, dropped)
	}
}

// reportUntil reports one hit each time it checks cond, until cond holds.
func reportUntil(t testing.TB, r *HitReporter, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, what, func() bool {
		r.Report(testItem("x", 1))
		return cond()
	})
}

func TestHitReporterLoadBalance(t *testing.T) {
	a, b := startRecordingEngine(t), startRecordingEngine(t)
	r := newTestReporter(t, HitReporterOptions{Groups: [][]string{{a.addr, b.addr}}, Policy: LoadBalance})
	testkit.Eventually(t, "both streams", func() bool { return r.EnginesConnected() == 2 })
	reportUntil(t, r, "batches on both engines", func() bool { return len(a.seqs()) >= 5 && len(b.seqs()) >= 5 })

	// A stopped engine is skipped, and used again once it is back.
	a.Stop()
	testkit.Eventually(t, "a down", func() bool { return r.EnginesConnected() == 1 })
	before := b.total()
	reportUntil(t, r, "b takes all", func() bool { return b.total() >= before+20 })
	a.Start()
	testkit.Eventually(t, "a back", func() bool { return r.EnginesConnected() == 2 })
	n := len(a.seqs())
	reportUntil(t, r, "batches on a again", func() bool { return len(a.seqs()) > n })

	_ = r.Close()
	seen := map[uint64]bool{}
	for _, s := range append(a.seqs(), b.seqs()...) {
		if seen[s] {
			t.Fatalf("batch %d sent twice", s)
		}
		seen[s] = true
	}
}

func TestHitReporterFailover(t *testing.T) {
	a, b := startRecordingEngine(t), startRecordingEngine(t)
	r := newTestReporter(t, HitReporterOptions{Groups: [][]string{{a.addr, b.addr}}, Policy: Failover})
	testkit.Eventually(t, "both streams", func() bool { return r.EnginesConnected() == 2 })
	reportUntil(t, r, "batches on a", func() bool { return len(a.seqs()) >= 10 })
	if n := len(b.seqs()); n != 0 {
		t.Fatalf("secondary got %d batches while the primary was up", n)
	}
	a.Stop()
	reportUntil(t, r, "failover to b", func() bool { return len(b.seqs()) >= 10 })
	a.Start()
	testkit.Eventually(t, "a back", func() bool { return r.EnginesConnected() == 2 })
	n := len(a.seqs())
	reportUntil(t, r, "back on a", func() bool { return len(a.seqs()) > n })
}

func TestHitReporterGroups(t *testing.T) {
	a, b := startRecordingEngine(t), startRecordingEngine(t)
	r := newTestReporter(t, HitReporterOptions{Groups: [][]string{{a.addr}, {b.addr}}})
	testkit.Eventually(t, "both groups", r.Connected)
	for range 100 {
		r.Report(testItem("g", 1))
	}
	_ = r.Close()
	if a.total() != 100 || b.total() != 100 {
		t.Fatalf("groups got %d and %d hits, want 100 each", a.total(), b.total())
	}
}

// With no engine reachable, Report still returns at once, the hits are
// counted as dropped, and Close returns.
func TestHitReporterNoEngine(t *testing.T) {
	eng := startRecordingEngine(t)
	eng.Stop()
	r := newTestReporter(t, HitReporterOptions{Groups: [][]string{{eng.addr}}})
	for range 100 {
		r.Report(testItem("x", 1))
	}
	testkit.Eventually(t, "drop count", func() bool { return r.DroppedHits() == 100 })
	if r.Connected() {
		t.Fatal("connected to a stopped engine")
	}
	eng.Start()
	testkit.Eventually(t, "reconnect", r.Connected)
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	testkit.Receive(t, "Close to return", closed)
}

func TestHitReporterOptions(t *testing.T) {
	if _, err := NewHitReporter(HitReporterOptions{}); err == nil {
		t.Error("no engines accepted")
	}
	if _, err := NewHitReporter(HitReporterOptions{Groups: [][]string{{"127.0.0.1:1"}, {}}}); err == nil {
		t.Error("empty group accepted")
	}
	for s, want := range map[string]EnginePolicy{"": LoadBalance, "loadbalance": LoadBalance, "Failover": Failover} {
		if got, err := ParseEnginePolicy(s); err != nil || got != want {
			t.Errorf("ParseEnginePolicy(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseEnginePolicy("random"); err == nil {
		t.Error("ParseEnginePolicy accepted random")
	}
}

// silentEngine takes batches on a real loopback gRPC server and never
// acknowledges them, as an engine killed before its acks would.
type silentEngine struct {
	enginepb.UnimplementedThrottleEngineServer
	srv      *grpc.Server
	addr     string
	received atomic.Uint64 // hits received
}

func startSilentEngine(t testing.TB) *silentEngine {
	t.Helper()
	e := &silentEngine{srv: grpc.NewServer()}
	l := listenAgain(t, "127.0.0.1:0")
	e.addr = l.Addr().String()
	enginepb.RegisterThrottleEngineServer(e.srv, e)
	go func() { _ = e.srv.Serve(l) }()
	t.Cleanup(e.srv.Stop)
	return e
}

func (e *silentEngine) StreamHits(st grpc.BidiStreamingServer[enginepb.HitBatch, enginepb.BatchAck]) error {
	if err := st.SendHeader(nil); err != nil {
		return err
	}
	for {
		b, err := st.Recv()
		if err != nil {
			return err
		}
		e.received.Add(batchHits(b))
	}
}

// A batch counts as delivered on its ack, not when Send returns: hits an
// engine received but never acknowledged before its stream broke are
// counted as dropped.
func TestHitReporterCountsUnackedAsDropped(t *testing.T) {
	eng := startSilentEngine(t)
	r := newTestReporter(t, HitReporterOptions{Groups: [][]string{{eng.addr}}})
	testkit.Eventually(t, "engine stream", r.Connected)
	const hits = 500
	for i := range hits {
		r.Report(testItem(strconv.Itoa(i%7), 1))
	}
	testkit.Eventually(t, "engine received every hit", func() bool { return eng.received.Load() == hits })
	eng.srv.Stop() // the engine dies holding them
	testkit.Eventually(t, "stream down", func() bool { return !r.Connected() })
	_ = r.Close()
	if got := r.DroppedHits(); got != hits {
		t.Fatalf("dropped_hits = %d after the engine died without acking %d hits; want every one counted", got, hits)
	}
	if got := r.AckedHits(); got != 0 {
		t.Fatalf("%d hits counted as delivered without an ack", got)
	}
}

// An engine that stops acknowledging is not taking hits: the stream sends
// at most MaxUnacked batches, and the replica reports no engine connected.
func TestHitReporterStalledEngineNotConnected(t *testing.T) {
	eng := startSilentEngine(t)
	r := newTestReporter(t, HitReporterOptions{Groups: [][]string{{eng.addr}}, MaxUnacked: 2})
	testkit.Eventually(t, "engine stream", r.Connected)
	reportUntil(t, r, "stream stalled", func() bool { return !r.Connected() })
	if got := r.EnginesConnected(); got != 0 {
		t.Fatalf("EnginesConnected = %d for an engine that acknowledges nothing", got)
	}
}

// Batches are cut by encoded size under the engine's receive limit: hits
// that together pass 4 MiB all arrive, none counted as dropped, and a hit
// no batch can carry is dropped and counted.
func TestHitReporterSplitsBatchesBySize(t *testing.T) {
	eng := startRecordingEngine(t)
	r := newTestReporter(t, HitReporterOptions{Groups: [][]string{{eng.addr}}, FlushInterval: time.Hour})
	testkit.Eventually(t, "engine stream", r.Connected)
	big := strings.Repeat("v", 60<<10) // Envoy's default header limit lets a value this long through
	const keys = 200                   // about 12 MiB in all
	for i := range keys {
		r.Report(testItem(strconv.Itoa(i)+big, 1))
	}
	r.Report(testItem(strings.Repeat("x", decisions.MaxHitBatchBytes), 3))
	_ = r.Close()
	if got := eng.total(); got != keys {
		t.Fatalf("engine got %d of %d hits (dropped %d)", got, keys, r.DroppedHits())
	}
	if got := r.DroppedHits(); got != 3 {
		t.Fatalf("dropped_hits = %d, want the 3 hits of the key no batch can carry", got)
	}
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if len(eng.batches) < 3 {
		t.Fatalf("%d batches for about 12 MiB of hits", len(eng.batches))
	}
	for _, b := range eng.batches {
		if n := proto.Size(b); n > decisions.MaxHitBatchBytes {
			t.Errorf("batch %d is %d bytes, over the engine's %d", b.Seq, n, decisions.MaxHitBatchBytes)
		}
	}
}

// The default waits between attempts to reach an engine stay short, in the
// stream loop and in the connection under it, so that a replica reconnects
// within half a second of an engine's return.
func TestHitReporterReconnectDelays(t *testing.T) {
	o := HitReporterOptions{Groups: [][]string{{"127.0.0.1:1"}}}.withDefaults()
	for n := range 20 {
		if d := o.Backoff.Delay(n); d > 250*time.Millisecond {
			t.Fatalf("stream attempt %d waits %v", n, d)
		}
	}
	if d := engineConnectParams.Backoff.MaxDelay; d == 0 || float64(d)*(1+engineConnectParams.Backoff.Jitter) > float64(300*time.Millisecond) {
		t.Fatalf("connection backoff up to %v", d)
	}
}
