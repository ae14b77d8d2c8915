package ratelimit

import (
	"context"
	"math"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

// testNow sits 20s into a minute window: 1699999980 + 20.
var testNow = time.Unix(1700000000, 0)

const testPolicy = `
domain: api
descriptors:
  - key: remote_address
    rate_limit: {unit: minute, requests_per_unit: 3}
  - key: path
    value: /login
    rate_limit: {name: login, unit: second, requests_per_unit: 2}
  - key: path
    value: /search*
    rate_limit: {unit: minute, requests_per_unit: 1}
  - key: cluster
    value: legacy-*
    share_threshold: true
    rate_limit: {unit: minute, requests_per_unit: 2}
  - key: api_key
    value: batch
    rate_limit: {unlimited: true}
  - key: blocked
    rate_limit: {unit: minute, requests_per_unit: 0}
  - key: shadow
    shadow_mode: true
    rate_limit: {unit: minute, requests_per_unit: 1}
  - key: plan
    value: gold
    rate_limit:
      name: gold
      unit: minute
      requests_per_unit: 100
      replaces: [{name: default}]
  - key: tenant
    detailed_metric: true
    rate_limit: {name: default, unit: minute, requests_per_unit: 1}
  - key: quota_a
    quota_mode: true
    rate_limit: {unit: minute, requests_per_unit: 1}
  - key: quota_b
    quota_mode: true
    rate_limit: {unit: minute, requests_per_unit: 1}
  - key: tagged
    metadata: {team: payments, tier: 2}
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: parent
    descriptors:
      - key: child
        rate_limit: {unit: hour, requests_per_unit: 4}
`

type testRLS struct {
	svc    *Service
	client rlsv3.RateLimitServiceClient
	stats  gostats.Store
	sink   *statsSink
}

// statsSink keeps the flushed counters' sums and how many values each
// timer had; timers are flushed by the calls' goroutines.
type statsSink struct {
	mu       sync.Mutex
	counters map[string]uint64
	timers   map[string]int
}

func (s *statsSink) FlushCounter(name string, v uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters[name] += v
}
func (s *statsSink) FlushGauge(string, uint64) {}
func (s *statsSink) FlushTimer(name string, _ float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timers[name]++
}

func (r *testRLS) counter(name string) uint64 {
	r.stats.Flush()
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	return r.sink.counters[name]
}

func compile(t testing.TB, docs ...string) *policy.Snapshot { return testkit.Compile(t, docs...) }

// startRLS serves a Service over gRPC on loopback and returns a client
// that calls it as Envoy's ratelimit filter does.
func startRLS(t testing.TB, opts Options, docs ...string) *testRLS {
	t.Helper()
	sink := &statsSink{counters: map[string]uint64{}, timers: map[string]int{}}
	store := gostats.NewStore(sink, false)
	if opts.Limiter == nil {
		mem := counter.NewMemory()
		t.Cleanup(func() { mem.Close() })
		opts.Limiter = NewExactLimiter(mem)
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	opts.Stats = store
	svc := NewService(opts)
	svc.SetSnapshot(compile(t, docs...))

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(grpc.ForceServerCodecV2(Codec{}),
		grpc.ChainUnaryInterceptor(NewServerStats(store, opts.StatsTags).UnaryInterceptor()))
	svc.Register(g)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &testRLS{svc: svc, client: rlsv3.NewRateLimitServiceClient(conn), stats: store, sink: sink}
}

func desc(kv ...string) *ratelimitv3.RateLimitDescriptor {
	d := &ratelimitv3.RateLimitDescriptor{}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Entries = append(d.Entries, &ratelimitv3.RateLimitDescriptor_Entry{Key: kv[i], Value: kv[i+1]})
	}
	return d
}

func (r *testRLS) call(t *testing.T, domain string, descs ...*ratelimitv3.RateLimitDescriptor) *rlsv3.RateLimitResponse {
	t.Helper()
	resp, err := r.client.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{Domain: domain, Descriptors: descs})
	if err != nil {
		t.Fatalf("ShouldRateLimit: %v", err)
	}
	return resp
}

func codesOf(resp *rlsv3.RateLimitResponse) string {
	var b strings.Builder
	b.WriteString(resp.OverallCode.String())
	for _, s := range resp.Statuses {
		b.WriteString(" " + s.Code.String())
	}
	return b.String()
}

func TestCountsUpToTheLimitThenOver(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	for i, want := range []uint32{2, 1, 0} {
		resp := r.call(t, "api", desc("remote_address", "10.0.0.1"))
		st := resp.Statuses[0]
		if resp.OverallCode != rlsv3.RateLimitResponse_OK || st.LimitRemaining != want {
			t.Fatalf("hit %d: %s remaining %d, want OK remaining %d", i+1, codesOf(resp), st.LimitRemaining, want)
		}
		if st.CurrentLimit.GetRequestsPerUnit() != 3 || st.CurrentLimit.GetUnit() != rlsv3.RateLimitResponse_RateLimit_MINUTE {
			t.Fatalf("current_limit = %v, want 3/MINUTE", st.CurrentLimit)
		}
		if got := st.DurationUntilReset.AsDuration(); got != 40*time.Second {
			t.Fatalf("duration_until_reset = %v, want 40s (window ends on the minute)", got)
		}
	}
	resp := r.call(t, "api", desc("remote_address", "10.0.0.1"))
	if codesOf(resp) != "OVER_LIMIT OVER_LIMIT" || resp.Statuses[0].LimitRemaining != 0 {
		t.Fatalf("4th hit: %s remaining %d, want OVER_LIMIT remaining 0", codesOf(resp), resp.Statuses[0].LimitRemaining)
	}
	// A different value of a key-only descriptor has its own counter.
	if got := codesOf(r.call(t, "api", desc("remote_address", "10.0.0.2"))); got != "OK OK" {
		t.Fatalf("other address: %s, want OK", got)
	}
	if got := r.counter("ratelimit.service.rate_limit.api.remote_address.over_limit"); got != 1 {
		t.Errorf("over_limit = %d, want 1", got)
	}
	if got := r.counter("ratelimit.service.rate_limit.api.remote_address.total_hits"); got != 5 {
		t.Errorf("total_hits = %d, want 5", got)
	}
	if got := r.counter("ratelimit.service.rate_limit.api.remote_address.within_limit"); got != 4 {
		t.Errorf("within_limit = %d, want 4", got)
	}
	// near limit: 0.8*3 = 2.4 -> 2; the 3rd hit (count 3) is near.
	if got := r.counter("ratelimit.service.rate_limit.api.remote_address.near_limit"); got != 1 {
		t.Errorf("near_limit = %d, want 1", got)
	}
}

func TestResponses(t *testing.T) {
	cases := []struct {
		name  string
		descs []*ratelimitv3.RateLimitDescriptor
		// hits before the checked call, with the same descriptors
		warm  int
		want  string
		check func(t *testing.T, resp *rlsv3.RateLimitResponse)
	}{
		{name: "unknown domain answers OK with no limit", descs: []*ratelimitv3.RateLimitDescriptor{desc("remote_address", "x")}, want: "OK OK",
			check: func(t *testing.T, resp *rlsv3.RateLimitResponse) {
				if resp.Statuses[0].CurrentLimit != nil {
					t.Errorf("current_limit = %v, want none", resp.Statuses[0].CurrentLimit)
				}
			}},
		{name: "no match answers OK with no limit", descs: []*ratelimitv3.RateLimitDescriptor{desc("nothing", "x")}, want: "OK OK"},
		{name: "limit name is reported", descs: []*ratelimitv3.RateLimitDescriptor{desc("path", "/login")}, want: "OK OK",
			check: func(t *testing.T, resp *rlsv3.RateLimitResponse) {
				if l := resp.Statuses[0].CurrentLimit; l.GetName() != "login" || l.GetUnit() != rlsv3.RateLimitResponse_RateLimit_SECOND {
					t.Errorf("current_limit = %v, want login 2/SECOND", l)
				}
				if got := resp.Statuses[0].DurationUntilReset.AsDuration(); got != time.Second {
					t.Errorf("duration_until_reset = %v, want 1s", got)
				}
			}},
		{name: "one descriptor over makes the whole request over", warm: 1,
			descs: []*ratelimitv3.RateLimitDescriptor{desc("path", "/login"), desc("path", "/search/a")}, want: "OVER_LIMIT OK OVER_LIMIT"},
		{name: "unlimited", descs: []*ratelimitv3.RateLimitDescriptor{desc("api_key", "batch")}, warm: 10, want: "OK OK",
			check: func(t *testing.T, resp *rlsv3.RateLimitResponse) {
				if got := resp.Statuses[0].LimitRemaining; got != math.MaxUint32 {
					t.Errorf("limit_remaining = %d, want %d", got, uint32(math.MaxUint32))
				}
			}},
		{name: "requests_per_unit 0 is always over", descs: []*ratelimitv3.RateLimitDescriptor{desc("blocked", "x")}, want: "OVER_LIMIT OVER_LIMIT"},
		{name: "shadow_mode rule answers OK when over", warm: 3, descs: []*ratelimitv3.RateLimitDescriptor{desc("shadow", "x")}, want: "OK OK"},
		{name: "replaces drops the replaced limit", warm: 3,
			descs: []*ratelimitv3.RateLimitDescriptor{desc("plan", "gold"), desc("tenant", "t1")}, want: "OK OK OK",
			check: func(t *testing.T, resp *rlsv3.RateLimitResponse) {
				if resp.Statuses[1].CurrentLimit != nil {
					t.Errorf("replaced descriptor reports limit %v", resp.Statuses[1].CurrentLimit)
				}
			}},
		{name: "without its replacement the limit applies", warm: 1,
			descs: []*ratelimitv3.RateLimitDescriptor{desc("tenant", "t2")}, want: "OVER_LIMIT OVER_LIMIT"},
		{name: "nested limit applies at its depth only", descs: []*ratelimitv3.RateLimitDescriptor{desc("parent", "p", "child", "c"), desc("parent", "p")}, want: "OK OK OK",
			check: func(t *testing.T, resp *rlsv3.RateLimitResponse) {
				if resp.Statuses[0].CurrentLimit.GetRequestsPerUnit() != 4 || resp.Statuses[1].CurrentLimit != nil {
					t.Errorf("statuses = %v", resp.Statuses)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startRLS(t, Options{}, testPolicy)
			domain := "api"
			if strings.HasPrefix(tc.name, "unknown domain") {
				domain = "elsewhere"
			}
			for range tc.warm {
				r.call(t, domain, tc.descs...)
			}
			resp := r.call(t, domain, tc.descs...)
			if got := codesOf(resp); got != tc.want {
				t.Fatalf("codes = %s, want %s", got, tc.want)
			}
			if len(resp.Statuses) != len(tc.descs) {
				t.Fatalf("%d statuses for %d descriptors", len(resp.Statuses), len(tc.descs))
			}
			if tc.check != nil {
				tc.check(t, resp)
			}
		})
	}
}

// As envoyproxy/ratelimit's src/service/ratelimit.go (shouldRateLimitWorker):
// a quota_mode descriptor over its limit never makes the answer OVER_LIMIT;
// its status is OK with its limit and limit_remaining kept (no
// duration_until_reset), and only an ordinary descriptor denies.
func TestQuotaDescriptorsNeverDeny(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	both := []*ratelimitv3.RateLimitDescriptor{desc("quota_a", "x"), desc("quota_b", "x")}
	if got := codesOf(r.call(t, "api", both...)); got != "OK OK OK" {
		t.Fatalf("first: %s", got)
	}
	resp := r.call(t, "api", both...)
	if got := codesOf(resp); got != "OK OK OK" {
		t.Fatalf("both quotas over: %s, want every status and the answer OK", got)
	}
	for i, st := range resp.Statuses {
		if st.GetCurrentLimit().GetRequestsPerUnit() != 1 || st.LimitRemaining != 0 || st.DurationUntilReset != nil {
			t.Errorf("status %d = %v, want limit 1, remaining 0 and no duration_until_reset", i, st)
		}
	}
	r.call(t, "api", desc("blocked", "b"))
	if got := codesOf(r.call(t, "api", desc("quota_a", "x"), desc("blocked", "b"))); got != "OVER_LIMIT OK OVER_LIMIT" {
		t.Fatalf("a quota and an ordinary descriptor over: %s, want the ordinary one to deny", got)
	}
}

// QuotaMode is envoyproxy/ratelimit's QUOTA_MODE: every descriptor in quota
// mode. quotaModeEnabled still reports only rules with quota_mode, as
// ratelimitToMetadata does there.
func TestGlobalQuotaMode(t *testing.T) {
	r := startRLS(t, Options{QuotaMode: true, Metadata: MetadataRequest}, testPolicy)
	r.call(t, "api", desc("blocked", "b"))
	resp := r.call(t, "api", desc("remote_address", "h"), desc("blocked", "b"))
	if got := codesOf(resp); got != "OK OK OK" {
		t.Fatalf("global quota mode, one descriptor over: %s, want OK", got)
	}
	md := resp.DynamicMetadata.AsMap()
	if v := md["quotaModeViolations"]; !reflect.DeepEqual(v, []any{float64(1)}) {
		t.Errorf("quotaModeViolations = %v, want [1]", v)
	}
	if md["quotaModeEnabled"] != false {
		t.Errorf("quotaModeEnabled = %v, want false: no rule has quota_mode", md["quotaModeEnabled"])
	}
	// Shadow mode answers OK first: a shadow descriptor over is no violation.
	r.call(t, "api", desc("shadow", "s"))
	md = r.call(t, "api", desc("shadow", "s")).DynamicMetadata.AsMap()
	if v, ok := md["quotaModeViolations"]; ok {
		t.Errorf("shadow descriptor over: quotaModeViolations = %v, want none", v)
	}
}

func TestWildcardCounters(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	// Without share_threshold each value matching /search* has its own counter.
	r.call(t, "api", desc("path", "/search/a"))
	if got := codesOf(r.call(t, "api", desc("path", "/search/b"))); got != "OK OK" {
		t.Fatalf("/search/b after /search/a: %s, want its own counter", got)
	}
	// With share_threshold every legacy-* cluster shares one.
	r.call(t, "api", desc("cluster", "legacy-a"))
	r.call(t, "api", desc("cluster", "legacy-b"))
	if got := codesOf(r.call(t, "api", desc("cluster", "legacy-c"))); got != "OVER_LIMIT OVER_LIMIT" {
		t.Fatalf("third legacy cluster: %s, want the shared counter over", got)
	}
}

func TestHitsAddend(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	ctx := context.Background()
	resp, err := r.client.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "api", HitsAddend: 2,
		Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("remote_address", "a")}})
	if err != nil || resp.Statuses[0].LimitRemaining != 1 {
		t.Fatalf("request hits_addend 2: remaining %d, err %v; want 1", resp.GetStatuses()[0].GetLimitRemaining(), err)
	}
	// An explicit per-descriptor 0 checks without counting.
	check := desc("remote_address", "a")
	check.HitsAddend = wrapperspb.UInt64(0)
	for range 3 {
		resp := r.call(t, "api", check)
		if resp.Statuses[0].LimitRemaining != 1 || resp.OverallCode != rlsv3.RateLimitResponse_OK {
			t.Fatalf("check-only: %s remaining %d, want OK 1", codesOf(resp), resp.Statuses[0].LimitRemaining)
		}
	}
	// The per-descriptor value wins over the request's.
	five := desc("remote_address", "a")
	five.HitsAddend = wrapperspb.UInt64(5)
	resp, err = r.client.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "api", HitsAddend: 1,
		Descriptors: []*ratelimitv3.RateLimitDescriptor{five}})
	if err != nil || codesOf(resp) != "OVER_LIMIT OVER_LIMIT" {
		t.Fatalf("descriptor hits_addend 5: %v %v, want OVER_LIMIT", codesOf(resp), err)
	}
}

func TestLimitOverride(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	d := desc("remote_address", "o")
	d.Limit = &ratelimitv3.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 1, Unit: typev3.RateLimitUnit_HOUR}
	resp := r.call(t, "api", d)
	st := resp.Statuses[0]
	if st.CurrentLimit.GetRequestsPerUnit() != 1 || st.CurrentLimit.GetUnit() != rlsv3.RateLimitResponse_RateLimit_HOUR || st.LimitRemaining != 0 {
		t.Fatalf("override: %v remaining %d, want 1/HOUR remaining 0", st.CurrentLimit, st.LimitRemaining)
	}
	if got := codesOf(r.call(t, "api", d)); got != "OVER_LIMIT OVER_LIMIT" {
		t.Fatalf("second call under override: %s", got)
	}
	// An override applies to descriptors no rule matches, within a known domain.
	if got := r.call(t, "api", &ratelimitv3.RateLimitDescriptor{Entries: desc("free", "x").Entries, Limit: d.Limit}).Statuses[0]; got.CurrentLimit == nil {
		t.Fatalf("override on an unmatched descriptor: no limit")
	}
}

func TestGlobalShadowMode(t *testing.T) {
	r := startRLS(t, Options{ShadowMode: true}, testPolicy)
	resp := r.call(t, "api", desc("blocked", "x"))
	if got := codesOf(resp); got != "OK OVER_LIMIT" {
		t.Fatalf("global shadow: %s, want overall OK with the descriptor still reported over", got)
	}
	if got := r.counter("ratelimit.service.global_shadow_mode"); got != 1 {
		t.Errorf("global_shadow_mode = %d, want 1", got)
	}
}

func TestRuleShadowModeStats(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	for range 3 {
		r.call(t, "api", desc("shadow", "x"))
	}
	if got := r.counter("ratelimit.service.rate_limit.api.shadow.shadow_mode"); got != 2 {
		t.Errorf("shadow_mode = %d, want 2", got)
	}
}

func TestDetailedMetric(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	r.call(t, "api", desc("tenant", "acme"))
	if got := r.counter("ratelimit.service.rate_limit.api.tenant_acme.total_hits"); got != 1 {
		t.Errorf("detailed total_hits = %d, want 1", got)
	}
}

func TestInvalidRequests(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	for _, tc := range []struct {
		req  *rlsv3.RateLimitRequest
		want string
	}{
		{&rlsv3.RateLimitRequest{Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("a", "b")}}, "domain must not be empty"},
		{&rlsv3.RateLimitRequest{Domain: "api"}, "descriptor list must not be empty"},
	} {
		_, err := r.client.ShouldRateLimit(context.Background(), tc.req)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want InvalidArgument %q", err, tc.want)
		}
	}
}

func headersOf(resp *rlsv3.RateLimitResponse) map[string]string {
	got := map[string]string{}
	for _, h := range resp.ResponseHeadersToAdd {
		got[h.Key] = h.Value
	}
	return got
}

// The headers describe envoyproxy/ratelimit's minimumDescriptor
// (src/service/ratelimit.go): the last descriptor that denies, else the
// first with the fewest remaining; a quota descriptor over its limit only
// competes by its remaining 0, with the reset of its window.
func TestResponseHeadersChooseAsEnvoyRatelimit(t *testing.T) {
	r := startRLS(t, Options{Headers: HeaderOptions{Enabled: true}}, testPolicy)
	r.call(t, "api", desc("quota_a", "q"))
	r.call(t, "api", desc("blocked", "b"))
	for _, tc := range []struct {
		name  string
		descs []*ratelimitv3.RateLimitDescriptor
		want  map[string]string
	}{
		{"quota over, ordinary under", []*ratelimitv3.RateLimitDescriptor{desc("remote_address", "h"), desc("quota_a", "q")},
			map[string]string{"RateLimit-Limit": "1", "RateLimit-Remaining": "0", "RateLimit-Reset": "40"}},
		{"quota over first, then a denial", []*ratelimitv3.RateLimitDescriptor{desc("quota_a", "q"), desc("blocked", "b")},
			map[string]string{"RateLimit-Limit": "0", "RateLimit-Remaining": "0", "RateLimit-Reset": "40"}},
	} {
		if got := headersOf(r.call(t, "api", tc.descs...)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: headers %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestResponseHeaders(t *testing.T) {
	r := startRLS(t, Options{Headers: HeaderOptions{Enabled: true, Policy: "RateLimit-Policy"}}, testPolicy)
	resp := r.call(t, "api", desc("remote_address", "h"), desc("path", "/login"))
	got := map[string]string{}
	for _, h := range resp.ResponseHeadersToAdd {
		got[h.Key] = h.Value
	}
	// remote_address leaves 2 of 3, /login 1 of 2: the tightest is /login.
	want := map[string]string{"RateLimit-Limit": "2", "RateLimit-Remaining": "1", "RateLimit-Reset": "1", "RateLimit-Policy": "3;w=60, 2;w=1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	r2 := startRLS(t, Options{}, testPolicy)
	if h := r2.call(t, "api", desc("remote_address", "h")).ResponseHeadersToAdd; len(h) != 0 {
		t.Errorf("headers disabled but got %v", h)
	}
}

func TestNoSnapshotAnswersOK(t *testing.T) {
	svc := NewService(Options{Limiter: NewExactLimiter(counter.NewMemory())})
	resp, err := svc.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{Domain: "api",
		Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("remote_address", "x")}})
	if err != nil || codesOf(resp) != "OK OK" {
		t.Fatalf("before any policy: %v %v", codesOf(resp), err)
	}
}
