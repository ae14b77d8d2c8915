package replica

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/ratelimit"
)

// Distinct 60 KiB descriptor values through the RLS: before, every one
// stayed in the decision cache (and the hit buffer) by its full key until
// its window ended — 10 000 of them took a replica past 1 GiB. Now keys are
// digested and both hold at most their byte budget, counting what they
// dropped.
func TestLargeValuesStayWithinByteBudgets(t *testing.T) {
	const cacheBudget, reportBudget = 64 << 10, 1 << 20
	st := gostats.NewStore(gostats.NewNullSink(), false)
	l, err := NewLimiter(Options{Mode: ModeReport,
		// No engine listens: hits wait in the buffer for a flush that
		// does not come during the test.
		Engines: HitReporterOptions{Groups: [][]string{{"127.0.0.1:1"}}, FlushInterval: time.Hour,
			MaxBytes: reportBudget},
		Decisions: &decisions.MemoryBus{},
		Cache:     DecisionCacheOptions{MaxBytes: cacheBudget},
		Stats:     st, Logger: testkit.Quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	svc := ratelimit.NewService(ratelimit.Options{Limiter: l})
	svc.SetSnapshot(testkit.Compile(t, `
domain: big
descriptors:
  - key: header
    rate_limit: {unit: hour, requests_per_unit: 100}
`))
	value := strings.Repeat("v", 60<<10)
	for i := range 1000 { // 60 MiB of distinct values
		req := &rlsv3.RateLimitRequest{Domain: "big", Descriptors: []*commonrl.RateLimitDescriptor{{
			Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: "header", Value: strconv.Itoa(i) + value}}}}}
		if _, err := svc.ShouldRateLimit(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if b := l.cache.Bytes(); b > cacheBudget {
		t.Errorf("decision cache holds %d bytes, budget %d", b, cacheBudget)
	}
	if n := st.NewCounter("decision_cache.evictions").Value(); n == 0 {
		t.Error("decision cache: no eviction counted")
	}
	if b := l.reporter.PendingBytes(); b > reportBudget {
		t.Errorf("hit buffer holds %d bytes, budget %d", b, reportBudget)
	}
	if n := st.NewCounter("hit_reporter.hits_overflow").Value(); n == 0 {
		t.Error("hit buffer: no dropped hit counted")
	}
}
