package policy

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func issueSnapshot(t testing.TB) *Snapshot {
	t.Helper()
	src, err := os.ReadFile("testdata/extensions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return mustSnapshot(t, string(src))
}

// The issue's example compiles to the limits it describes.
func TestCompileExtensions(t *testing.T) {
	s := issueSnapshot(t)
	type want struct {
		entries    []*entry
		statsKeys  []string
		algorithm  Algorithm
		burst      uint32
		mult       uint32
		window     int64
		rpu        uint32
		sharedPath string
	}
	tests := []struct {
		name string
		want want
	}{
		{"sliding window", want{entries: req("user", "u1"), statsKeys: []string{"api.user"}, algorithm: SlidingWindow, window: 60, rpu: 100}},
		{"token bucket", want{entries: req("tenant", "t1"), statsKeys: []string{"api.tenant"}, algorithm: TokenBucket, burst: 200, window: 1, rpu: 50}},
		{"several limits", want{entries: req("api_key", "k"), statsKeys: []string{"api.api_key.per_second", "api.api_key.per_hour"}, window: 1, rpu: 10}},
		{"unit multiplier", want{entries: req("report", "r"), statsKeys: []string{"api.report"}, mult: 10, window: 600, rpu: 30}},
		{"cidr", want{entries: req("remote_address", "10.1.2.3"), statsKeys: []string{"api.remote_address_10.0.0.0/8"}, window: 1, rpu: 1000}},
		{"deny list", want{entries: req("remote_address", "203.0.113.9"), statsKeys: []string{"api.remote_address_203.0.113.0/24"}, window: 1, rpu: 0}},
		{"shared regex", want{entries: req("path", "/v1/users/42"), statsKeys: []string{"api.path_^/v1/users/[0-9]+$"}, window: 60, rpu: 60, sharedPath: "^/v1/users/[0-9]+$"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := FindAll(s, "api", tt.want.entries)
			if len(ls) != len(tt.want.statsKeys) {
				t.Fatalf("FindAll = %d limits, want %d", len(ls), len(tt.want.statsKeys))
			}
			if Find(s, "api", tt.want.entries) != ls[0] {
				t.Errorf("Find is not FindAll's first limit")
			}
			for i, l := range ls {
				if l.StatsKey != tt.want.statsKeys[i] {
					t.Errorf("limit %d StatsKey = %q, want %q", i, l.StatsKey, tt.want.statsKeys[i])
				}
				if s.Limits[l.Index] != l {
					t.Errorf("limit %d is not Snapshot.Limits[%d]", i, l.Index)
				}
			}
			l := ls[0]
			if l.Algorithm != tt.want.algorithm || l.Burst != tt.want.burst || l.UnitMultiplier != tt.want.mult ||
				l.WindowSeconds() != tt.want.window || l.RequestsPerUnit != tt.want.rpu {
				t.Errorf("limit = %s burst %d x%d window %ds rpu %d, want %s burst %d x%d window %ds rpu %d",
					l.Algorithm, l.Burst, l.UnitMultiplier, l.WindowSeconds(), l.RequestsPerUnit,
					tt.want.algorithm, tt.want.burst, tt.want.mult, tt.want.window, tt.want.rpu)
			}
			if got := l.SharedValue[0]; got != tt.want.sharedPath {
				t.Errorf("SharedValue = %q, want %q", got, tt.want.sharedPath)
			}
		})
	}
	if l := FindAll(s, "api", req("api_key", "k")); l[0].Name != "per_second" || l[1].Name != "per_hour" || l[1].Unit != Hour || !l[1].InList() {
		t.Errorf("rate_limits compiled to %+v, %+v", l[0], l[1])
	}
	if Find(s, "api", req("user", "u1")).InList() {
		t.Errorf("a rate_limit reports itself in a list")
	}
}

// A token bucket's size defaults to its rate.
func TestTokenBucketBurstDefault(t *testing.T) {
	s := mustSnapshot(t, "domain: d\ndescriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: 7, algorithm: token_bucket}\n  - key: b\n    rate_limit: {unit: second, requests_per_unit: 7}\n")
	if got := Find(s, "d", req("a", "x")).Burst; got != 7 {
		t.Errorf("token bucket Burst = %d, want requests_per_unit 7", got)
	}
	if got := Find(s, "d", req("b", "x")).Burst; got != 0 {
		t.Errorf("fixed window Burst = %d, want 0", got)
	}
}

// Windows of N units are aligned to the epoch, and Resolve and every
// limit of rate_limits use them.
func TestWindowsOfSeveralUnits(t *testing.T) {
	const now = 1700000830 // 7m10s past a multiple of 10 minutes (1700000400 = 2833334 × 600)
	l := &Limit{Unit: Minute, UnitMultiplier: 10}
	if l.WindowSeconds() != 600 || l.WindowStart(now) != 1700000400 {
		t.Errorf("10-minute window: %ds from %d, want 600s from 1700000400", l.WindowSeconds(), l.WindowStart(now))
	}
	for _, n := range []uint32{0, 1} {
		one := &Limit{Unit: Minute, UnitMultiplier: n}
		if one.WindowSeconds() != 60 || one.WindowStart(now) != Minute.WindowStart(now) {
			t.Errorf("multiplier %d: %ds from %d, want one minute", n, one.WindowSeconds(), one.WindowStart(now))
		}
	}

	s := issueSnapshot(t)
	r := Resolve(s, "api", req("report", "r"), nil, now)
	if r.WindowStart != 1700000400 || r.WindowEnd() != 1700001000 || r.UnitMultiplier != 10 {
		t.Errorf("Resolve: window [%d, %d) x%d, want [1700000400, 1700001000) x10", r.WindowStart, r.WindowEnd(), r.UnitMultiplier)
	}
	r = Resolve(s, "api", req("api_key", "k"), nil, now)
	if len(r.Limits) != 2 || r.Limit != r.Limits[0] || r.WindowStart != now {
		t.Fatalf("Resolve of rate_limits: %+v", r)
	}
	second := r.Nth(1, now)
	if second.Limit != r.Limits[1] || second.Unit != Hour || second.RequestsPerUnit != 5000 || second.WindowStart != Hour.WindowStart(now) {
		t.Errorf("Nth(1) = %+v, want the per_hour limit in its hour", second)
	}
	if first := r.Nth(0, now); !reflect.DeepEqual(first, r) {
		t.Errorf("Nth(0) = %+v, want %+v", first, r)
	}
	o := Resolve(s, "api", req("report", "r"), &Override{RequestsPerUnit: 5, Unit: Second, UnitMultiplier: 30}, now)
	if !o.Override || o.WindowSeconds() != 30 || o.WindowStart != now/30*30 || o.Limits != nil {
		t.Errorf("override with unit_multiplier: %+v", o)
	}
	tb := Resolve(s, "api", req("tenant", "t"), nil, now)
	if tb.Algorithm != TokenBucket || tb.Burst != 200 {
		t.Errorf("token bucket resolved to %s burst %d", tb.Algorithm, tb.Burst)
	}
}

// The new keys survive Marshal and Parse, so Floodgate's own xDS resource
// (which carries Marshal's YAML) serves them unchanged.
func TestMarshalExtensionsRoundTrip(t *testing.T) {
	src, err := os.ReadFile("testdata/extensions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, string(src))
	out, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"algorithm: sliding_window", "burst: 200", "rate_limits:", "name: per_hour", "unit_multiplier: 10", "match: cidr", "match: regex"} {
		if !strings.Contains(string(out), k) {
			t.Errorf("Marshal lost %q:\n%s", k, out)
		}
	}
	back := mustParse(t, string(out))
	if got, want := stripConfig(back), stripConfig(c); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", got, want)
	}
}

func TestWriteDumpExtensions(t *testing.T) {
	var b strings.Builder
	if err := WriteDump(&b, issueSnapshot(t)); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"api.user: unit=MINUTE requests_per_unit=100, shadow_mode: false, quota_mode: false, algorithm: sliding_window\n",
		"api.tenant: unit=SECOND requests_per_unit=50, shadow_mode: false, quota_mode: false, algorithm: token_bucket, burst: 200\n",
		"api.report: unit=MINUTE requests_per_unit=30, shadow_mode: false, quota_mode: false, unit_multiplier: 10\n",
		"api.api_key.per_hour: unit=HOUR requests_per_unit=5000, shadow_mode: false, quota_mode: false\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("dump lacks %q:\n%s", line, b.String())
		}
	}
}
