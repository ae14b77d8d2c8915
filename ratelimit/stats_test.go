package ratelimit

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/metrics"
)

// 50 000 distinct detailed_metric values, and as many distinct limit
// overrides, leave at most maxKeys keys of series on /metrics plus the
// overflow key, which counts the rest; once idle, the keys are freed and
// their series leave /metrics. Before, each value made five gostats
// counters kept for good (476 MiB and a 51.7 MB /metrics in the issue).
func TestValueStatsAreBounded(t *testing.T) {
	const maxKeys, values, idle = 1000, 50_000, 3
	prom := metrics.NewPrometheus(metrics.BridgeOptions{})
	store := gostats.NewStore(prom.Bridge, false)
	vs := NewValueStats(metrics.ValueStatsOptions{MaxKeys: maxKeys, IdleFlushes: idle})
	vs.Attach(store, prom.Bridge)
	mem := counter.NewMemory()
	t.Cleanup(func() { mem.Close() })
	svc := NewService(Options{Limiter: NewExactLimiter(mem), Stats: store, ValueStats: vs, Now: func() time.Time { return testNow }})
	svc.SetSnapshot(compile(t, testPolicy))
	ctx := context.Background()
	for i := range values {
		v := fmt.Sprintf("t%06d", i)
		override := desc("remote_address", v)
		override.Limit = &ratelimitv3.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 5, Unit: typev3.RateLimitUnit_MINUTE}
		if _, err := svc.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "api",
			Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("tenant", v), override}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := vs.Len(); n != maxKeys {
		t.Fatalf("value stats hold %d keys, want the bound %d", n, maxKeys)
	}
	page := scrape(store, prom)
	valueSeries := strings.Count(page, `key1="tenant_t`) + strings.Count(page, `key1="remote_address_t`)
	if valueSeries == 0 || valueSeries > maxKeys*len(ruleCounterNames) {
		t.Fatalf("/metrics has %d per-value series, want 1..%d", valueSeries, maxKeys*len(ruleCounterNames))
	}
	// Two descriptors a request: 2*values hits in all, maxKeys keys' worth
	// of them on their own series, the rest on the overflow key.
	overflow := fmt.Sprintf(`ratelimit_service_rate_limit_total_hits{domain="other",key1="other",key2="other"} %d`, 2*values-maxKeys)
	if !strings.Contains(page, overflow+"\n") {
		t.Fatalf("/metrics lacks %q", overflow)
	}
	t.Logf("%d distinct values: %d keys, %d per-value lines and %d bytes on /metrics", values, vs.Len(), valueSeries, len(page))
	if len(page) > 1<<20 {
		t.Errorf("/metrics is %d bytes", len(page))
	}

	for range idle {
		scrape(store, prom)
	}
	if n := vs.Len(); n != 0 {
		t.Fatalf("after %d idle flushes %d keys remain", idle, n)
	}
	page = scrape(store, prom)
	if strings.Contains(page, `key1="tenant_t`) || strings.Contains(page, `key1="remote_address_t`) {
		t.Fatalf("freed keys still on /metrics")
	}
	// Room again: a new value gets its own series.
	if _, err := svc.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "api",
		Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("tenant", "later")}}); err != nil {
		t.Fatal(err)
	}
	if page := scrape(store, prom); !strings.Contains(page, `ratelimit_service_rate_limit_total_hits{domain="api",key1="tenant_later",key2=""} 1`+"\n") {
		t.Fatalf("a value after the freeing has no series of its own")
	}
}

// scrape serves /metrics, flushing the store first.
func scrape(store gostats.Store, prom *metrics.Prometheus) string {
	rec := httptest.NewRecorder()
	prom.Handler(store.Flush).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}
