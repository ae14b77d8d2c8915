package ratelimit_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/examples"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// engineTestPolicy is the policy of decisions/engine_test.go, which this
// package cannot import.
const engineTestPolicy = `
domain: api
descriptors:
  - key: user
    rate_limit: {unit: second, requests_per_unit: 10}
  - key: free
    rate_limit: {unlimited: true}
  - key: shared
    value: "team*"
    share_threshold: true
    rate_limit: {unit: minute, requests_per_unit: 5}
`

// agreeNow is 20s into a minute and 800s into an hour, so that windows of
// different units start at different instants.
var agreeNow = time.Unix(1700000000, 0)

// TestReplicaAndEngineAgree drives every rule of the example and test
// policies, and a descriptor override of each, through the RLS request path
// and, over a real hit stream, through the throttle engine; both must name
// the same counter, window and limit, and agree on what is not counted.
func TestReplicaAndEngineAgree(t *testing.T) {
	sources := map[string]*policy.Snapshot{
		"ratelimit tests": testkit.Compile(t, ratelimit.TestPolicy),
		"engine tests":    testkit.Compile(t, engineTestPolicy),
	}
	ex, err := examples.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sources["examples"] = ex

	for name, snap := range sources {
		descs := ruleDescriptors(t, snap)
		t.Run(name+"/rules", func(t *testing.T) { checkAgreement(t, snap, descs) })
		t.Run(name+"/overrides", func(t *testing.T) {
			var over []domainDescriptor
			for _, d := range descs {
				for _, u := range []typev3.RateLimitUnit{typev3.RateLimitUnit_HOUR, typev3.RateLimitUnit_UNKNOWN} {
					o := &commonrl.RateLimitDescriptor{Entries: d.desc.GetEntries(),
						Limit: &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 2, Unit: u}}
					over = append(over, domainDescriptor{d.domain, o})
				}
				// Windows of several units: the engine counts the key the
				// RLS does.
				over = append(over, domainDescriptor{d.domain, &commonrl.RateLimitDescriptor{Entries: d.desc.GetEntries(),
					Limit: &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 2, Unit: typev3.RateLimitUnit_MINUTE,
						UnitMultiplier: wrapperspb.UInt32(10)}}})
			}
			// An override in a domain no policy names counts nothing.
			over = append(over, domainDescriptor{"unconfigured", &commonrl.RateLimitDescriptor{
				Entries: descs[0].desc.GetEntries(),
				Limit:   &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 2, Unit: typev3.RateLimitUnit_HOUR}}})
			checkAgreement(t, snap, over)
		})
	}
}

type domainDescriptor struct {
	domain string
	desc   *commonrl.RateLimitDescriptor
}

// ruleDescriptors returns a descriptor that reaches each configured
// rate_limit, and fails unless together they match every rule of snap.
func ruleDescriptors(t *testing.T, snap *policy.Snapshot) []domainDescriptor {
	t.Helper()
	var out []domainDescriptor
	matched := make(map[*policy.Limit]bool)
	var walk func(domain string, path []*commonrl.RateLimitDescriptor_Entry, ds []policy.Descriptor)
	walk = func(domain string, path []*commonrl.RateLimitDescriptor_Entry, ds []policy.Descriptor) {
		for _, d := range ds {
			value := "v-" + d.Key
			if d.Value != "" {
				value = strings.ReplaceAll(d.Value, "*", "x")
			}
			p := append(path[:len(path):len(path)], &commonrl.RateLimitDescriptor_Entry{Key: d.Key, Value: value})
			if d.RateLimit != nil {
				out = append(out, domainDescriptor{domain, &commonrl.RateLimitDescriptor{Entries: p}})
				matched[policy.Find(snap, domain, p)] = true
			}
			walk(domain, p, d.Descriptors)
		}
	}
	for _, c := range snap.Configs() {
		walk(c.Domain, nil, c.Descriptors)
	}
	for _, l := range snap.Limits {
		if !matched[l] {
			t.Fatalf("no descriptor reaches rule %s", l.StatsKey)
		}
	}
	return out
}

// counted is what one side counted for one key.
type counted struct {
	windowEnd int64
	limit     uint32
	expiry    time.Duration
}

// checkAgreement sends each descriptor in a request of its own, with one
// hit more than its limit so that the engine publishes a decision for it.
func checkAgreement(t *testing.T, snap *policy.Snapshot, descs []domainDescriptor) {
	const keyPrefix, counterPrefix = "rl_", "c_"
	store := &recordingStore{counts: make(map[string]uint64), expiry: make(map[string]time.Duration)}
	pub := &recordingPublisher{}
	engineStats := gostats.NewStore(gostats.NewNullSink(), false)
	now := func() time.Time { return agreeNow }
	engine, err := decisions.NewEngine(decisions.EngineOptions{
		Counter: store, Publisher: pub, KeyPrefix: keyPrefix, CounterPrefix: counterPrefix,
		FlushInterval: time.Hour, // the test flushes
		Stats:         engineStats, Logger: testkit.Quiet, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close() })
	engine.SetSnapshot(snap)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	engine.Register(gs)
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)

	reporter, err := replica.NewHitReporter(replica.HitReporterOptions{
		Groups: [][]string{{ln.Addr().String()}}, FlushInterval: 5 * time.Millisecond, Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reporter.Close() })
	// Hits reported while no engine is connected are dropped, by design.
	testkit.Eventually(t, "the reporter connected to the engine", reporter.Connected)
	lim := &recordingLimiter{reporter: reporter, items: make(map[string]counted)}
	svc := ratelimit.NewService(ratelimit.Options{Limiter: lim, KeyPrefix: keyPrefix, Now: now})
	svc.SetSnapshot(snap)

	var sent uint64
	var uncounted []domainDescriptor
	for _, d := range descs {
		hits := uint32(3) // one more than the overrides' limit
		// An override of unknown unit is ignored: the rule's limit applies.
		ignored := d.desc.GetLimit() == nil || d.desc.GetLimit().GetUnit() == typev3.RateLimitUnit_UNKNOWN
		if l := policy.Find(snap, d.domain, d.desc.GetEntries()); l != nil && ignored {
			hits = l.RequestsPerUnit + 1
		}
		before := lim.hits()
		req := &rlsv3.RateLimitRequest{Domain: d.domain, Descriptors: []*commonrl.RateLimitDescriptor{d.desc}, HitsAddend: hits}
		if _, err := svc.ShouldRateLimit(context.Background(), req); err != nil {
			t.Fatalf("%s %v: %v", d.domain, d.desc, err)
		}
		if lim.hits() == before {
			uncounted = append(uncounted, d)
		}
		sent = lim.hits()
	}
	if len(uncounted) == len(descs) {
		t.Fatal("the RLS counted nothing")
	}

	hitsIn := engineStats.NewCounter("engine.hits")
	testkit.Eventually(t, "the engine receives every hit the RLS reported", func() bool { return hitsIn.Value() >= sent })
	if unmatched := engineStats.NewCounter("engine.hits_unmatched").Value(); unmatched != 0 {
		t.Errorf("the engine found no limit for %d hits the RLS counted", unmatched)
	}
	engine.Flush(context.Background())

	rls := lim.snapshot()
	byEngine := make(map[string]counted)
	for _, d := range pub.all() {
		if d.State != decisions.Throttled {
			continue
		}
		byEngine[d.Key] = counted{windowEnd: d.WindowEnd, limit: d.Limit, expiry: store.expiryOf(counterPrefix + d.Key)}
	}
	for key, want := range rls {
		got, ok := byEngine[key]
		if !ok {
			t.Errorf("RLS key %q: the engine published no decision for it", key)
			continue
		}
		if got != want {
			t.Errorf("key %q: engine window end %d, limit %d, expiry %v; RLS %d, %d, %v",
				key, got.windowEnd, got.limit, got.expiry, want.windowEnd, want.limit, want.expiry)
		}
	}
	for key := range byEngine {
		if _, ok := rls[key]; !ok {
			t.Errorf("engine key %q: the RLS never counted it", key)
		}
	}
	if n := store.keys(); n != len(rls) {
		t.Errorf("the engine counted %d keys, the RLS %d", n, len(rls))
	}

	// What the RLS does not count, the engine refuses too, sent as the hit
	// reporter would send it.
	for _, d := range uncounted {
		h := &enginepb.Hit{Domain: d.domain, Hits: 1, UnixTime: agreeNow.Unix()}
		for _, e := range d.desc.GetEntries() {
			h.Entries = append(h.Entries, &enginepb.Entry{Key: e.GetKey(), Value: e.GetValue()})
		}
		if o := d.desc.GetLimit(); o != nil {
			h.Limit = &enginepb.LimitOverride{RequestsPerUnit: o.GetRequestsPerUnit(), Unit: o.GetUnit().String(),
				UnitMultiplier: o.GetUnitMultiplier().GetValue()}
		}
		if n := engine.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{h}}); n != 0 {
			t.Errorf("%s %v: the RLS counts nothing, the engine accepted the hit", d.domain, d.desc.GetEntries())
		}
	}
}

// recordingLimiter records what the request path counts and reports it as
// the async limiter does.
type recordingLimiter struct {
	reporter *replica.HitReporter
	mu       sync.Mutex
	items    map[string]counted
	total    uint64
}

func (l *recordingLimiter) Limit(_ context.Context, items []*ratelimit.Item) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, it := range items {
		l.items[strings.Clone(it.Key)] = counted{
			windowEnd: it.WindowStart + it.WindowSeconds(),
			limit:     it.RequestsPerUnit,
			expiry:    time.Duration(it.WindowSeconds()) * time.Second,
		}
		l.total += it.Hits
		l.reporter.Report(it)
	}
	return nil
}

// SharesDecisions: it stands for the async limiter, whose keys must be the
// engine's.
func (l *recordingLimiter) SharesDecisions() bool { return true }

func (l *recordingLimiter) hits() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func (l *recordingLimiter) snapshot() map[string]counted {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]counted, len(l.items))
	for k, v := range l.items {
		out[k] = v
	}
	return out
}

// recordingStore is a counter.Store that remembers every key and expiry.
type recordingStore struct {
	mu     sync.Mutex
	counts map[string]uint64
	expiry map[string]time.Duration
}

var _ counter.Store = (*recordingStore)(nil)

func (s *recordingStore) Add(_ context.Context, incs []counter.Increment, counts []uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, inc := range incs {
		s.counts[inc.Key] += inc.Hits
		s.expiry[inc.Key] = inc.Expiry
		counts[i] = s.counts[inc.Key]
	}
	return nil
}

func (s *recordingStore) Close() error { return nil }

func (s *recordingStore) expiryOf(key string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expiry[key]
}

func (s *recordingStore) keys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.counts)
}

// recordingPublisher keeps every decision the engine publishes.
type recordingPublisher struct {
	mu sync.Mutex
	ds []decisions.Decision
}

func (p *recordingPublisher) Publish(_ context.Context, ds []decisions.Decision) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ds = append(p.ds, ds...)
	return nil
}

func (p *recordingPublisher) all() []decisions.Decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]decisions.Decision(nil), p.ds...)
}
