package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"

	gostats "github.com/lyft/gostats"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scrape serves p's /metrics once, flushing store first.
func scrape(t *testing.T, p *Prometheus, store gostats.Store) string {
	t.Helper()
	var flush func()
	if store != nil {
		flush = store.Flush
	}
	rec := httptest.NewRecorder()
	p.Handler(flush).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func wantLines(t *testing.T, page string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(page, l+"\n") {
			t.Errorf("/metrics lacks %q; got:\n%s", l, page)
		}
	}
}

// Each gostats name becomes the series its rule names, with its labels.
func TestBridgeNamesSeriesByRule(t *testing.T) {
	p := NewPrometheus(BridgeOptions{})
	store := gostats.NewStore(p.Bridge, false)
	rl := store.Scope("ratelimit.service.rate_limit")
	rl.Scope("api.remote_address").NewCounter("total_hits").Add(3)
	rl.Scope("api.path_/v1.method_GET").NewCounter("over_limit").Add(2)
	rl.Scope("api.a.b.c").NewCounter("near_limit").Inc()
	store.NewCounter("ratelimit.service.call.should_rate_limit.redis_error").Inc()
	store.NewCounter("ratelimit_server.ShouldRateLimit.total_requests").Add(4)
	store.NewCounter("hit_reporter.hits_overflow").Add(5)
	store.NewGauge("lease.engines_connected").Set(2)
	store.NewCounter("xds.server.node.replica-1.nack").Inc()
	store.NewCounter("xds.server.nack").Inc() // the sum of the nodes': dropped
	store.NewCounter("engine.decisions.throttled").Add(6)
	store.NewCounter("ratelimit.redis_pool.cx_total").Add(3)
	store.NewGauge("ratelimit.redis_per_second_pool.cx_active").Set(2)
	store.NewCounter("some.new_counter").Inc()
	store.NewGauge("ratelimit.go.numGoroutines").Set(9) // the Go collector's
	page := scrape(t, p, store)
	wantLines(t, page,
		`# TYPE ratelimit_service_rate_limit_total_hits untyped`,
		`ratelimit_service_rate_limit_total_hits{domain="api",key1="remote_address",key2=""} 3`,
		`ratelimit_service_rate_limit_over_limit{domain="api",key1="path_/v1",key2="method_GET"} 2`,
		`ratelimit_service_rate_limit_near_limit{domain="api",key1="a",key2="b.c"} 1`,
		`ratelimit_service_should_rate_limit_error{err_type="redis_error"} 1`,
		`ratelimit_service_total_requests{grpc_method="ShouldRateLimit"} 4`,
		`ratelimit_service_config_load_success 0`,
		`# TYPE floodgate_replica_hits_dropped_total counter`,
		`floodgate_replica_hits_dropped_total{reason="overflow"} 5`,
		`floodgate_replica_engines_connected{stream="lease"} 2`,
		`floodgate_xds_nacks_total{node="replica-1"} 1`,
		`floodgate_engine_decisions_total{event="throttled"} 6`,
		`floodgate_redis_pool_events_total{event="cx_total",pool="main"} 3`,
		`floodgate_redis_pool_connections{pool="per_second"} 2`,
		`floodgate_stat_total{stat="some.new_counter"} 1`,
	)
	for _, absent := range []string{"numGoroutines", "xds_server_nack", "floodgate_xds_nacks_total 1"} {
		if strings.Contains(page, absent) {
			t.Errorf("/metrics has %q:\n%s", absent, page)
		}
	}
	if !strings.Contains(page, "go_goroutines ") || !strings.Contains(page, "process_start_time_seconds ") {
		t.Errorf("/metrics lacks the Go and process collectors:\n%s", page)
	}
}

// A family holds at most MaxSeries label sets; the rest count in one
// series whose labels are all "other".
func TestBridgeBoundsSeriesPerFamily(t *testing.T) {
	p := NewPrometheus(BridgeOptions{MaxSeries: 2})
	store := gostats.NewStore(p.Bridge, false)
	// A flush sends counters in no set order: a and b come first here.
	for _, nodes := range [][]string{{"a", "b"}, {"c", "d", "a"}} {
		for _, node := range nodes {
			store.NewCounter("xds.server.node." + node + ".ack").Add(2)
		}
		store.Flush()
	}
	store.NewCounter("xds.server.node.a.ack").Inc()
	page := scrape(t, p, store)
	wantLines(t, page,
		`floodgate_xds_acks_total{node="a"} 5`,
		`floodgate_xds_acks_total{node="b"} 2`,
		`floodgate_xds_acks_total{node="other"} 4`)
	if strings.Contains(page, `node="c"`) {
		t.Errorf("past the bound:\n%s", page)
	}
}

// A timer's milliseconds are observed in seconds, in the histogram's
// buckets, as soon as they come (no flush).
func TestBridgeTimerIsHistogramInSeconds(t *testing.T) {
	p := NewPrometheus(BridgeOptions{})
	store := gostats.NewStore(p.Bridge, false)
	tm := store.NewTimer("ratelimit_server.ShouldRateLimit.response_time")
	tm.AddValue(0.2) // 200µs
	tm.AddValue(30)  // 30ms
	page := scrape(t, p, nil)
	wantLines(t, page,
		`# TYPE ratelimit_service_response_time_seconds histogram`,
		`ratelimit_service_response_time_seconds_bucket{grpc_method="ShouldRateLimit",le="0.0001"} 0`,
		`ratelimit_service_response_time_seconds_bucket{grpc_method="ShouldRateLimit",le="0.00025"} 1`,
		`ratelimit_service_response_time_seconds_bucket{grpc_method="ShouldRateLimit",le="0.05"} 2`,
		`ratelimit_service_response_time_seconds_bucket{grpc_method="ShouldRateLimit",le="+Inf"} 2`,
		`ratelimit_service_response_time_seconds_count{grpc_method="ShouldRateLimit"} 2`)
}

// --stats-extra-tags become labels of envoyproxy/ratelimit's families.
func TestBridgeExtraTagsAreLabels(t *testing.T) {
	p := NewPrometheus(BridgeOptions{TagKeys: []string{"env"}})
	store := gostats.NewStore(p.Bridge, false)
	store.ScopeWithTags("ratelimit", map[string]string{"env": "prod"}).Scope("service.rate_limit.api.user").NewCounter("over_limit").Inc()
	store.NewCounter("engine.hits").Inc()
	page := scrape(t, p, store)
	wantLines(t, page,
		`ratelimit_service_rate_limit_over_limit{domain="api",env="prod",key1="user",key2=""} 1`,
		`floodgate_engine_hits_total 1`)
}

// Forget takes a freed key's series off /metrics.
func TestBridgeForget(t *testing.T) {
	p := NewPrometheus(BridgeOptions{})
	p.Bridge.FlushCounter("ratelimit.service.rate_limit.api.user_u1.total_hits", 1)
	p.Bridge.Forget("ratelimit.service.rate_limit.api.user_u1.total_hits")
	if page := scrape(t, p, nil); strings.Contains(page, "user_u1") {
		t.Errorf("a forgotten series is on /metrics:\n%s", page)
	}
}

// Every family a rule names passes client_golang's lint (promtool's).
func TestEveryFamilyPassesLint(t *testing.T) {
	p := NewPrometheus(BridgeOptions{TagKeys: []string{"env"}})
	store := gostats.NewStore(p.Bridge, false)
	for _, name := range exampleNames() {
		store.NewCounter(name).Inc()
		store.NewGauge(name).Set(1)
		store.NewTimer(name).AddValue(1)
	}
	store.Flush()
	problems, err := testutil.GatherAndLint(p.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("lint: %s: %s", pr.Metric, pr.Text)
	}
	seen := map[string]bool{}
	fams, _ := p.Registry.Gather()
	for _, f := range fams {
		seen[f.GetName()] = true
	}
	for _, r := range promRules {
		if r.family != "" && !seen[r.family] {
			t.Errorf("rule %s: family %s not reached by any example name", r.pattern, r.family)
		}
	}
}

// exampleNames is one gostats name per rule, its wildcards filled in.
func exampleNames() []string {
	var names []string
	for _, r := range promRules {
		var segs []string
		for _, s := range strings.Split(r.pattern, ".") {
			switch {
			case s == "*" || s == "+":
				s = "x"
			case strings.HasSuffix(s, "*"):
				s = strings.TrimSuffix(s, "*") + "x"
			}
			segs = append(segs, s)
		}
		names = append(names, strings.Join(segs, ".")+".__env=prod")
	}
	return names
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          []string // nil: no match
	}{
		{"a.*.c", "a.b.c", []string{"b"}},
		{"a.*.c", "a.b.d", nil},
		{"a.*.+.c", "a.b.x.y.c", []string{"b", "x.y"}},
		{"a.*.+.c", "a.b.c", nil},
		{"lease.tokens_*", "lease.tokens_granted", []string{"granted"}},
		{"lease.tokens_*", "lease.tokens_", nil},
		{"+", "any.name", []string{"any.name"}},
	} {
		got, ok := matchPattern(strings.Split(tc.pattern, "."), strings.Split(tc.name, "."))
		if ok != (tc.want != nil) || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("matchPattern(%q, %q) = %q, %v; want %q", tc.pattern, tc.name, got, ok, tc.want)
		}
	}
}
