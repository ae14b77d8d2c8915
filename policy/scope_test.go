package policy

import (
	"errors"
	"strings"
	"testing"
)

const scopeYAML = `domain: api
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 1000, scope: global}
  - key: tenant
    rate_limit: {unit: minute, requests_per_unit: 50, scope: datacenter}
  - key: plain
    rate_limit: {unit: minute, requests_per_unit: 10}
`

// scope compiles onto the limit; left out it is the datacenter, and a
// domain that does not write it marshals without it.
func TestScopeCompiles(t *testing.T) {
	s, err := Compile([]*Config{mustParse(t, scopeYAML)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Scope{"api.user": ScopeGlobal, "api.tenant": ScopeDatacenter, "api.plain": ScopeDatacenter}
	for _, l := range s.Limits {
		if l.Scope != want[l.StatsKey] {
			t.Errorf("%s: scope %v, want %v", l.StatsKey, l.Scope, want[l.StatsKey])
		}
	}
	res := Resolve(s, "api", req("user", "u1"), nil, 1700000000)
	if !res.Global() {
		t.Errorf("a global rule resolves as the datacenter's: %+v", res)
	}
	var b strings.Builder
	_ = WriteDump(&b, s)
	if !strings.Contains(b.String(), "api.user: unit=MINUTE requests_per_unit=1000, shadow_mode: false, quota_mode: false, scope: global\n") ||
		strings.Contains(b.String(), "scope: datacenter") {
		t.Errorf("dump:\n%s", b.String())
	}

	out, err := Marshal(mustParse(t, scopeYAML))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "scope: global") {
		t.Errorf("Marshal lost the scope:\n%s", out)
	}
	plain, err := Marshal(mustParse(t, "domain: p\ndescriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1}\n"))
	if err != nil || strings.Contains(string(plain), "scope") {
		t.Errorf("a file without scope marshals with it: %s (%v)", plain, err)
	}
}

// A wrong scope is reported with file:line:col like every other mistake.
func TestScopeErrors(t *testing.T) {
	const head = "domain: d\ndescriptors:\n"
	for _, tt := range []struct{ name, yaml, want string }{
		{"unknown", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, scope: region}\n",
			`f.yaml:4:54: descriptor "a": unknown scope "region" (want datacenter or global)`},
		{"with unlimited", head + "  - key: a\n    rate_limit: {unlimited: true, scope: global}\n",
			`f.yaml:4:35: descriptor "a": scope must not be set when unlimited is true`},
		{"global token bucket", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, algorithm: token_bucket, scope: global}\n",
			`f.yaml:4:79: descriptor "a": scope global is not supported with algorithm token_bucket yet`},
		{"not a string", head + "  - key: a\n    rate_limit: {unit: second, scope: [global]}\n",
			`f.yaml:4:`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml))
			var errs Errors
			if !errors.As(err, &errs) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
