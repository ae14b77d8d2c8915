package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

// STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT as envoyproxy/ratelimit's
// src/redis/fixed_cache_impl.go implements it: a request that passes one
// descriptor's limit does not count on its other descriptors; without it,
// it does. On real Redis and memcached.
func TestExactStopIncrementOverLimit(t *testing.T) {
	for name, open := range exactStores(t) {
		for _, stop := range []bool{true, false} {
			t.Run(name+"/stop="+strconv.FormatBool(stop), func(t *testing.T) {
				start := time.Now()
				prefix := name + "_stop_"
				if !stop {
					prefix = name + "_count_"
				}
				r := startRLS(t, Options{Limiter: NewExactLimiterWith(open(), ExactOptions{StopIncrementOverLimit: stop}),
					Now: func() time.Time { return start }, KeyPrefix: prefix}, testPolicy)
				other, full := desc("remote_address", "a"), desc("path", "/search/x") // limits 3 and 1 a minute
				r.call(t, "api", full)
				resp := r.call(t, "api", other, full)
				if got := codesOf(resp); got != "OVER_LIMIT OK OVER_LIMIT" {
					t.Fatalf("request over one limit: %s", got)
				}
				wantOther := uint32(2) // counted: 3 - 1
				if stop {
					wantOther = 3 // not counted
				}
				if got := resp.Statuses[0].LimitRemaining; got != wantOther {
					t.Fatalf("stop=%v: the other descriptor's remaining = %d, want %d", stop, got, wantOther)
				}
				// The next request alone sees the count the store kept.
				if got := r.call(t, "api", other).Statuses[0].LimitRemaining; got != wantOther-1 {
					t.Fatalf("stop=%v: then alone, remaining %d, want %d", stop, got, wantOther-1)
				}
				// A request under every limit counts on all of them.
				r2 := r.call(t, "api", other, desc("path", "/search/y"))
				if got := r2.Statuses[0].LimitRemaining; got != wantOther-2 {
					t.Fatalf("stop=%v: a request under its limits, remaining %d, want %d", stop, got, wantOther-2)
				}
			})
		}
	}
}
