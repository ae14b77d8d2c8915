package policy

import "testing"

// Each limit has its own counter: a window of N units never shares the key
// of a one-unit window starting at the same second, each entry of
// rate_limits has its own, and a one-unit fixed or sliding window outside
// rate_limits keeps envoyproxy/ratelimit's key.
func TestLimitKeysAreApart(t *testing.T) {
	s := mustSnapshot(t, `
domain: k
descriptors:
  - key: plain
    rate_limit: {unit: minute, requests_per_unit: 1}
  - key: sliding
    rate_limit: {unit: minute, requests_per_unit: 1, algorithm: sliding_window}
  - key: ten
    rate_limit: {unit: minute, requests_per_unit: 1, unit_multiplier: 10}
  - key: one
    rate_limit: {unit: minute, requests_per_unit: 1, unit_multiplier: 1}
  - key: bucket
    rate_limit: {unit: minute, requests_per_unit: 1, algorithm: token_bucket}
  - key: both
    rate_limits:
      - {unit: minute, requests_per_unit: 1, name: per_minute}
      - {unit: minute, requests_per_unit: 5, unit_multiplier: 10, name: per_10_minutes}
`)
	const at = 1700000400 // a multiple of 600: every window here starts at it
	key := func(enc KeyEncoding, key string, nth int, o *Override) string {
		e := req(key, "v")
		r := Resolve(s, "k", e, o, at)
		if nth > 0 {
			r = r.Nth(nth, at)
		}
		return string(AppendKey(nil, KeyFormat{Prefix: "rl_", Encoding: enc}, "k", e, &r))
	}
	tests := []struct {
		name     string
		key      string
		nth      int
		override *Override
		compat   string
		unambig  string
	}{
		{"one-unit fixed window", "plain", 0, nil, "rl_k_plain_v_1700000400", "rl_1:k_5:plain_1:v_1700000400"},
		{"sliding window shares the fixed window's counters", "sliding", 0, nil, "rl_k_sliding_v_1700000400", "rl_1:k_7:sliding_1:v_1700000400"},
		{"unit_multiplier 1 is one unit", "one", 0, nil, "rl_k_one_v_1700000400", "rl_1:k_3:one_1:v_1700000400"},
		{"ten-unit window", "ten", 0, nil, "rl_k_ten_v_@x10_1700000400", "rl_1:k_3:ten_1:v_@3:x10_1700000400"},
		{"token bucket: one counter, no window", "bucket", 0, nil, "rl_k_bucket_v_@token_bucket_0", "rl_1:k_6:bucket_1:v_@12:token_bucket_0"},
		{"first of rate_limits", "both", 0, nil, "rl_k_both_v_@n=per_minute_1700000400", "rl_1:k_4:both_1:v_@12:n=per_minute_1700000400"},
		{"second of rate_limits", "both", 1, nil, "rl_k_both_v_@x10,n=per_10_minutes_1700000400", "rl_1:k_4:both_1:v_@20:x10,n=per_10_minutes_1700000400"},
		{"override of N units", "plain", 0, &Override{RequestsPerUnit: 3, Unit: Minute, UnitMultiplier: 10}, "rl_k_plain_v_@x10_1700000400", "rl_1:k_5:plain_1:v_%3/MINUTE_@3:x10_1700000400"},
		{"override of one unit", "plain", 0, &Override{RequestsPerUnit: 3, Unit: Minute, UnitMultiplier: 1}, "rl_k_plain_v_1700000400", "rl_1:k_5:plain_1:v_%3/MINUTE_1700000400"},
	}
	for _, tt := range tests {
		if got := key(KeyCompat, tt.key, tt.nth, tt.override); got != tt.compat {
			t.Errorf("%s: compat key %q, want %q", tt.name, got, tt.compat)
		}
		if got := key(KeyUnambiguous, tt.key, tt.nth, tt.override); got != tt.unambig {
			t.Errorf("%s: unambiguous key %q, want %q", tt.name, got, tt.unambig)
		}
	}

	e := req("plain", "v")
	o := Resolve(s, "k", e, &Override{RequestsPerUnit: 3, Unit: Minute, UnitMultiplier: 10}, at)
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { buf = AppendKey(buf[:0], KeyFormat{Encoding: KeyUnambiguous}, "k", e, &o) }); n != 0 {
		t.Errorf("keying an N-unit override allocates %v times", n)
	}
}
