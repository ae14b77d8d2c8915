package policy

import (
	"strings"
	"testing"
)

// The two descriptors of the `_` collision: one value that spells out what
// the other says in two entries.
var (
	collidingTwo = req("api_key", "victim", "path", "/v1/search")
	collidingOne = req("api_key", "victim_path_/v1/search")
)

func TestKeyEncodingCollision(t *testing.T) {
	tests := []struct {
		enc   KeyEncoding
		share bool
	}{
		{KeyCompat, true}, // as envoyproxy/ratelimit: kept for drop-in use
		{KeyUnambiguous, false},
	}
	for _, tt := range tests {
		f := KeyFormat{Prefix: "rl_", Encoding: tt.enc}
		r := &Resolved{WindowStart: 1700000000}
		a := string(AppendKey(nil, f, "api", collidingTwo, r))
		b := string(AppendKey(nil, f, "api", collidingOne, r))
		if (a == b) != tt.share {
			t.Errorf("%v: keys %q and %q; want shared=%v", tt.enc, a, b, tt.share)
		}
	}
	got := string(AppendKey(nil, KeyFormat{Encoding: KeyUnambiguous}, "api", collidingTwo, &Resolved{WindowStart: 7}))
	if want := "3:api_7:api_key_6:victim_4:path_10:/v1/search_7"; got != want {
		t.Errorf("unambiguous key %q, want %q", got, want)
	}
}

func TestParseKeyEncoding(t *testing.T) {
	for _, s := range []string{"compat", "unambiguous"} {
		var e KeyEncoding
		if err := e.Set(s); err != nil || e.String() != s {
			t.Errorf("Set(%q): %v, %v", s, e, err)
		}
	}
	if _, err := ParseKeyEncoding("base64"); err == nil || !strings.Contains(err.Error(), "compat or unambiguous") {
		t.Errorf("ParseKeyEncoding(base64) = %v", err)
	}
}

// An override's counter is keyed by the override where decisions are
// shared, so that an override of 0 denies only the requests carrying it.
func TestOverrideKeys(t *testing.T) {
	r := req("user", "u1")
	plain := &Resolved{WindowStart: 60}
	zero := &Resolved{Override: true, RequestsPerUnit: 0, Unit: Minute, WindowStart: 60}
	five := &Resolved{Override: true, RequestsPerUnit: 5, Unit: Minute, WindowStart: 60}
	tests := []struct {
		name  string
		f     KeyFormat
		apart bool
	}{
		{"exact, compat: counted as envoyproxy/ratelimit does", KeyFormat{}, false},
		{"shared decisions", KeyFormat{SeparateOverrides: true}, true},
		{"unambiguous", KeyFormat{Encoding: KeyUnambiguous}, true},
	}
	for _, tt := range tests {
		p := string(AppendKey(nil, tt.f, "api", r, plain))
		z := string(AppendKey(nil, tt.f, "api", r, zero))
		f := string(AppendKey(nil, tt.f, "api", r, five))
		if apart := p != z && z != f && p != f; apart != tt.apart {
			t.Errorf("%s: keys %q, %q, %q; want apart=%v", tt.name, p, z, f, tt.apart)
		}
	}
	if got := string(AppendKey(nil, KeyFormat{SeparateOverrides: true}, "api", r, zero)); got != "api_user_u1_%0/MINUTE_60" {
		t.Errorf("override key %q", got)
	}
}

func TestLongKeysAreDigested(t *testing.T) {
	long := strings.Repeat("v", 60<<10)
	for _, enc := range []KeyEncoding{KeyCompat, KeyUnambiguous} {
		f := KeyFormat{Prefix: "rl_", Encoding: enc}
		r := &Resolved{WindowStart: 1700000000}
		a := string(AppendKey(nil, f, "api", req("user", long+"a"), r))
		b := string(AppendKey(nil, f, "api", req("user", long+"b"), r))
		if len(a) > MaxPlainKey || len(b) > MaxPlainKey {
			t.Errorf("%v: digested keys of %d and %d bytes, want at most %d", enc, len(a), len(b), MaxPlainKey)
		}
		if a == b {
			t.Errorf("%v: two different long values share key %q", enc, a)
		}
		if !strings.HasPrefix(a, "rl_#") || !strings.HasSuffix(a, "_1700000000") {
			t.Errorf("%v: digested key %q keeps no readable prefix and window", enc, a)
		}
		// The same long key always digests the same (replica and engine).
		if again := string(AppendKey(make([]byte, 0, 8), f, "api", req("user", long+"a"), r)); again != a {
			t.Errorf("%v: %q then %q", enc, a, again)
		}
	}
	// Up to MaxPlainKey a key stays exactly as envoyproxy/ratelimit builds it.
	edge := strings.Repeat("v", MaxPlainKey-len("api_user__1700000000"))
	if got, want := string(AppendCacheKey(nil, "", "api", req("user", edge), nil, 1700000000)), "api_user_"+edge+"_1700000000"; got != want {
		t.Errorf("a key of %d bytes changed to %q", len(want), got)
	}
	buf := make([]byte, 0, 2*len(long))
	r := req("user", long)
	if n := testing.AllocsPerRun(20, func() { buf = AppendKey(buf[:0], KeyFormat{}, "api", r, &Resolved{}) }); n != 0 {
		t.Errorf("digesting allocates %v times", n)
	}
}
