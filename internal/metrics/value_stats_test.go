package metrics

import (
	"context"
	"strings"
	"testing"
	"time"
)

// OpenStore flushes a ValueStats with the store: past MaxKeys new keys
// count under the overflow key, and idle keys leave /metrics.
func TestValueStatsThroughOpenStore(t *testing.T) {
	vs := NewValueStats(ValueStatsOptions{MaxKeys: 2, IdleFlushes: 1}, "ratelimit.service.detailed_overflow", []string{"total_hits"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, prom, err := OpenStore(ctx, StoreOptions{FlushInterval: time.Hour, Values: vs})
	if err != nil {
		t.Fatal(err)
	}
	build := func(*ValueKey) any { return nil }
	key := func(v string) string { return "ratelimit.service.rate_limit.api.user_" + v }
	for _, k := range []string{key("a"), key("b"), key("c"), key("d"), key("a")} {
		vs.Key(k, build).Counter(0).Inc()
	}
	page := func() string { return scrape(t, prom, store) }
	series := func(v string) string {
		return `ratelimit_service_rate_limit_total_hits{domain="api",key1="user_` + v + `",key2=""} `
	}
	got := page()
	for _, want := range []string{series("a") + "2\n", series("b") + "1\n",
		`ratelimit_service_rate_limit_total_hits{domain="other",key1="other",key2="other"} 2` + "\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "user_c") || vs.Len() != 2 {
		t.Errorf("past the bound: %d keys\n%s", vs.Len(), got)
	}
	vs.Key(key("b"), build).Counter(0).Inc()
	got = page() // a idle for one flush: freed
	if strings.Contains(got, "user_a") || !strings.Contains(got, series("b")+"2\n") || vs.Freed() != 1 {
		t.Errorf("after a flush with only b hit (freed %d):\n%s", vs.Freed(), got)
	}
}
