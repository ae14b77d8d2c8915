package ratelimit

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
)

const algorithmsPolicy = `
domain: algo
descriptors:
  - key: fixed
    rate_limit: {unit: minute, requests_per_unit: 4}
  - key: sliding
    rate_limit: {unit: minute, requests_per_unit: 4, algorithm: sliding_window}
  - key: bucket
    rate_limit: {unit: second, requests_per_unit: 2, algorithm: token_bucket, burst: 5}
  - key: shadowed
    shadow_mode: true
    rate_limit: {unit: minute, requests_per_unit: 1, algorithm: sliding_window}
  - key: quota
    quota_mode: true
    rate_limit: {unit: second, requests_per_unit: 1, algorithm: token_bucket}
  - key: api_key
    rate_limits:
      - {unit: second, requests_per_unit: 2, name: per_second}
      - {unit: minute, requests_per_unit: 3, name: per_minute}
`

// startAlgorithms serves algorithmsPolicy in exact mode on store, with a
// clock the test moves: it starts 58 s into a minute.
func startAlgorithms(t *testing.T, store counter.Store) (*testRLS, func(time.Duration)) {
	start := time.Now().Truncate(time.Minute).Add(-2 * time.Minute).Add(58 * time.Second)
	var offset atomic.Int64
	now := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	r := startRLS(t, Options{Limiter: NewExactLimiter(store), Now: now}, algorithmsPolicy)
	return r, func(d time.Duration) { offset.Add(int64(d)) }
}

// A burst across a window boundary: the fixed window admits 4 at the end
// of a minute and 4 more at the start of the next; the sliding window
// refuses the second 4, and admits again as the previous minute's weight
// fades.
func TestExactSlidingWindowRefusesABurstAcrossTheBoundary(t *testing.T) {
	for name, open := range exactStores(t) {
		t.Run(name, func(t *testing.T) {
			r, advance := startAlgorithms(t, open())
			burst := func(key string) string {
				out := ""
				for range 4 {
					out += codesOf(r.call(t, "algo", desc(key, "k"))) + ";"
				}
				return out
			}
			all := "OK OK;OK OK;OK OK;OK OK;"
			if got := burst("fixed"); got != all {
				t.Fatalf("fixed, end of a minute: %s", got)
			}
			if got := burst("sliding"); got != all {
				t.Fatalf("sliding, end of a minute: %s", got)
			}
			advance(3 * time.Second) // 1 s into the next minute
			if got := burst("fixed"); got != all {
				t.Errorf("fixed, start of the next minute: %s, want all admitted", got)
			}
			resp := r.call(t, "algo", desc("sliding", "k"))
			if got := codesOf(resp); got != "OVER_LIMIT OVER_LIMIT" {
				t.Fatalf("sliding, start of the next minute: %s, want refused", got)
			}
			// 4 x (1 - 1/60) + 1 > 4: admitted once the previous minute
			// weighs under 3, at 15 s; the answer says when.
			wait := resp.Statuses[0].DurationUntilReset.AsDuration()
			if wait < 14*time.Second || wait > 15*time.Second {
				t.Errorf("duration_until_reset %v, want the 14 s until the estimate falls under the limit", wait)
			}
			advance(wait)
			if got := codesOf(r.call(t, "algo", desc("sliding", "k"))); got != "OK OK" {
				t.Errorf("sliding, %v later: %s, want admitted", wait, got)
			}
		})
	}
}

// A token bucket of 2 a second with a burst of 5 admits 5 at once, then
// exactly 2 a second.
func TestExactTokenBucketAdmitsBurstThenTheRate(t *testing.T) {
	for name, open := range exactStores(t) {
		t.Run(name, func(t *testing.T) {
			r, advance := startAlgorithms(t, open())
			admitted := func(n int) int {
				ok := 0
				for range n {
					if codesOf(r.call(t, "algo", desc("bucket", "b"))) == "OK OK" {
						ok++
					}
				}
				return ok
			}
			if got := admitted(8); got != 5 {
				t.Fatalf("at once: %d admitted, want the burst of 5", got)
			}
			for s := 1; s <= 3; s++ {
				advance(time.Second)
				if got := admitted(4); got != 2 {
					t.Errorf("second %d: %d admitted, want 2", s, got)
				}
			}
			advance(500 * time.Millisecond)
			resp := r.call(t, "algo", desc("bucket", "b"))
			if got := codesOf(resp); got != "OK OK" || resp.Statuses[0].LimitRemaining != 0 {
				t.Errorf("half a second later: %s, remaining %d; want one token, then none", got, resp.Statuses[0].LimitRemaining)
			}
		})
	}
}

// Several limits: the descriptor is over if any is; the status names the
// limit that decided (else the tightest); a denied request charges none.
func TestExactSeveralLimitsDecideAndChargeTogether(t *testing.T) {
	for name, open := range exactStores(t) {
		t.Run(name, func(t *testing.T) {
			r, advance := startAlgorithms(t, open())
			call := func() (string, string, uint32) {
				resp := r.call(t, "algo", desc("api_key", "a"))
				st := resp.Statuses[0]
				return codesOf(resp), st.CurrentLimit.GetName(), st.LimitRemaining
			}
			// Both admit; per_second (1 left) is tighter than per_minute (2).
			if code, name, rem := call(); code != "OK OK" || name != "per_second" || rem != 1 {
				t.Fatalf("1st: %s %s %d", code, name, rem)
			}
			if code, name, rem := call(); code != "OK OK" || name != "per_second" || rem != 0 {
				t.Fatalf("2nd: %s %s %d", code, name, rem)
			}
			// per_second denies; per_minute is not charged for it.
			if code, name, _ := call(); code != "OVER_LIMIT OVER_LIMIT" || name != "per_second" {
				t.Fatalf("3rd in the same second: %s %s, want per_second's denial", code, name)
			}
			advance(time.Second)
			// per_minute still has 1 left (2 charged, not 3).
			if code, name, rem := call(); code != "OK OK" || name != "per_minute" || rem != 0 {
				t.Fatalf("next second: %s %s %d, want admitted with per_minute's last", code, name, rem)
			}
			if code, name, _ := call(); code != "OVER_LIMIT OVER_LIMIT" || name != "per_minute" {
				t.Fatalf("then: %s %s, want per_minute's denial", code, name)
			}
		})
	}
}

const matchPolicy = `
domain: edge
descriptors:
  - key: remote_address
    value: 10.0.0.0/8
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 1000}
  - key: remote_address
    value: 10.9.0.0/16
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 10}
  - key: remote_address
    value: 203.0.113.0/24
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 0, name: blocked}
  - key: remote_address
    value: 2001:db8::/32
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 7}
  - key: remote_address
    value: 10.9.9.9
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: path
    value: '^/v1/users/[0-9]+$'
    match: regex
    share_threshold: true
    rate_limit: {unit: minute, requests_per_unit: 2}
  - key: path
    value: '/v1/*'
    rate_limit: {unit: minute, requests_per_unit: 50}
`

// Precedence at one level, answered in exact mode: the exact value, then
// the longest prefix (IPv4, IPv4-mapped and IPv6), then patterns in file
// order; a zero limit is a deny list; a shared regex counts every value
// it matches together.
func TestExactMatchPrecedence(t *testing.T) {
	for name, open := range exactStores(t) {
		t.Run(name, func(t *testing.T) {
			// A clock that stands still: every call in one window.
			start := time.Now()
			r := startRLS(t, Options{Limiter: NewExactLimiter(open()), Now: func() time.Time { return start }}, matchPolicy)
			for _, c := range []struct {
				key, value string
				limit      uint32
				code       string
			}{
				{"remote_address", "10.9.9.9", 1, "OK OK"},    // exact beats every prefix
				{"remote_address", "10.9.1.2", 10, "OK OK"},   // /16 beats /8
				{"remote_address", "10.1.2.3", 1000, "OK OK"}, // /8
				{"remote_address", "::ffff:10.1.2.3", 1000, "OK OK"},
				{"remote_address", "203.0.113.7", 0, "OVER_LIMIT OVER_LIMIT"}, // deny list
				{"remote_address", "2001:db8::1", 7, "OK OK"},
				{"path", "/v1/users/42", 2, "OK OK"}, // the regex, listed first
				{"path", "/v1/orders", 50, "OK OK"},  // the wildcard
			} {
				resp := r.call(t, "edge", desc(c.key, c.value))
				if got := codesOf(resp); got != c.code || resp.Statuses[0].CurrentLimit.GetRequestsPerUnit() != c.limit {
					t.Errorf("%s=%s: %s with limit %v, want %s with %d", c.key, c.value, got, resp.Statuses[0].CurrentLimit, c.code, c.limit)
				}
			}
			// share_threshold: /v1/users/42 and /v1/users/7 share one counter.
			r.call(t, "edge", desc("path", "/v1/users/7"))
			if got := codesOf(r.call(t, "edge", desc("path", "/v1/users/8"))); got != "OVER_LIMIT OVER_LIMIT" {
				t.Errorf("third user under the shared regex: %s, want over its 2 per minute", got)
			}
		})
	}
}

// Shadow mode and quota mode hold for every algorithm: over the limit, the
// answer is OK, and a quota descriptor's violation is reported.
func TestExactShadowAndQuotaModeForAlgorithms(t *testing.T) {
	for name, open := range exactStores(t) {
		t.Run(name, func(t *testing.T) {
			r, _ := startAlgorithms(t, open())
			r.call(t, "algo", desc("shadowed", "s"))
			if got := codesOf(r.call(t, "algo", desc("shadowed", "s"))); got != "OK OK" {
				t.Errorf("sliding window in shadow mode, over: %s, want OK", got)
			}
			r.call(t, "algo", desc("quota", "q"))
			resp := r.call(t, "algo", desc("quota", "q"))
			if got := codesOf(resp); got != "OK OK" || resp.Statuses[0].LimitRemaining != 0 {
				t.Errorf("token bucket in quota mode, over: %s remaining %d, want OK with none left", got, resp.Statuses[0].LimitRemaining)
			}
		})
	}
}
