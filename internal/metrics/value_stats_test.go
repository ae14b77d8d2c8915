package metrics

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// OpenStore flushes a ValueStats with the store: past MaxKeys new keys
// count under the overflow key, and idle keys leave /metrics.
func TestValueStatsThroughOpenStore(t *testing.T) {
	vs := NewValueStats(ValueStatsOptions{MaxKeys: 2, IdleFlushes: 1}, "values.overflow", []string{"hits"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, prom, err := OpenStore(ctx, StoreOptions{FlushInterval: time.Hour, Values: vs})
	if err != nil {
		t.Fatal(err)
	}
	build := func(*ValueKey) any { return nil }
	for _, k := range []string{"values.a", "values.b", "values.c", "values.d", "values.a"} {
		vs.Key(k, build).Counter(0).Inc()
	}
	page := func() string {
		store.Flush()
		var b bytes.Buffer
		prom.Write(&b)
		return b.String()
	}
	got := page()
	for _, want := range []string{"values_a_hits 2\n", "values_b_hits 1\n", "values_overflow_hits 2\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "values_c") || vs.Len() != 2 {
		t.Errorf("past the bound: %d keys\n%s", vs.Len(), got)
	}
	vs.Key("values.b", build).Counter(0).Inc()
	got = page() // a idle for one flush: freed
	if strings.Contains(got, "values_a_hits") || !strings.Contains(got, "values_b_hits 2\n") || vs.Freed() != 1 {
		t.Errorf("after a flush with only b hit (freed %d):\n%s", vs.Freed(), got)
	}
}
