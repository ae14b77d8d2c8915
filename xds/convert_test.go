package xds

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"

	"github.com/floodgate/floodgate/policy"
)

func mustParse(t *testing.T, yaml string) *policy.Config {
	t.Helper()
	c, err := policy.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

func TestToRateLimitConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    *rlsconf.RateLimitConfig
		dropped string
		err     string
	}{
		{
			name: "nested with replaces and unlimited",
			yaml: `
domain: api
descriptors:
  - key: path
    value: /login
    shadow_mode: true
    rate_limit: {name: login, unit: minute, requests_per_unit: 5}
    descriptors:
      - key: user
        detailed_metric: true
        rate_limit: {unit: second, requests_per_unit: 1, replaces: [{name: login}]}
  - key: internal
    rate_limit: {unlimited: true}
`,
			want: &rlsconf.RateLimitConfig{Name: "api", Domain: "api", Descriptors: []*rlsconf.RateLimitDescriptor{
				{Key: "path", Value: "/login", ShadowMode: true,
					RateLimit: &rlsconf.RateLimitPolicy{Name: "login", Unit: rlsconf.RateLimitUnit_MINUTE, RequestsPerUnit: 5},
					Descriptors: []*rlsconf.RateLimitDescriptor{{Key: "user", DetailedMetric: true,
						RateLimit: &rlsconf.RateLimitPolicy{Unit: rlsconf.RateLimitUnit_SECOND, RequestsPerUnit: 1,
							Replaces: []*rlsconf.RateLimitReplace{{Name: "login"}}}}}},
				{Key: "internal", RateLimit: &rlsconf.RateLimitPolicy{Unlimited: true}},
			}},
		},
		{
			name: "floodgate extensions are dropped and listed",
			yaml: `
domain: ext
descriptors:
  - key: tenant
    value: "acme*"
    share_threshold: true
    value_to_metric: true
    quota_mode: true
    metadata: {team: a}
    rate_limit: {unit: hour, requests_per_unit: 10}
`,
			want: &rlsconf.RateLimitConfig{Name: "ext", Domain: "ext", Descriptors: []*rlsconf.RateLimitDescriptor{
				{Key: "tenant", Value: "acme*", RateLimit: &rlsconf.RateLimitPolicy{Unit: rlsconf.RateLimitUnit_HOUR, RequestsPerUnit: 10}},
			}},
			dropped: "metadata,quota_mode,share_threshold,value_to_metric",
		},
		{
			name: "every unit has its RateLimitConfig equivalent",
			yaml: `
domain: units
descriptors:
  - {key: s, rate_limit: {unit: second, requests_per_unit: 1}}
  - {key: w, rate_limit: {unit: week, requests_per_unit: 2}}
  - {key: m, rate_limit: {unit: month, requests_per_unit: 3}}
  - {key: y, rate_limit: {unit: year, requests_per_unit: 4}}
`,
			want: &rlsconf.RateLimitConfig{Name: "units", Domain: "units", Descriptors: []*rlsconf.RateLimitDescriptor{
				{Key: "s", RateLimit: &rlsconf.RateLimitPolicy{Unit: rlsconf.RateLimitUnit_SECOND, RequestsPerUnit: 1}},
				{Key: "w", RateLimit: &rlsconf.RateLimitPolicy{Unit: rlsconf.RateLimitUnit_WEEK, RequestsPerUnit: 2}},
				{Key: "m", RateLimit: &rlsconf.RateLimitPolicy{Unit: rlsconf.RateLimitUnit_MONTH, RequestsPerUnit: 3}},
				{Key: "y", RateLimit: &rlsconf.RateLimitPolicy{Unit: rlsconf.RateLimitUnit_YEAR, RequestsPerUnit: 4}},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped, err := ToRateLimitConfig(mustParse(t, tt.yaml))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
			if d := strings.Join(dropped, ","); d != tt.dropped {
				t.Errorf("dropped = %q, want %q", d, tt.dropped)
			}
		})
	}
}

// A standard resource converts back to the config it came from, and the
// result compiles.
func TestRateLimitConfigRoundTrip(t *testing.T) {
	src := mustParse(t, `
domain: api
descriptors:
  - key: path
    value: /login
    rate_limit: {name: login, unit: day, requests_per_unit: 5}
    descriptors:
      - key: user
        rate_limit: {unit: second, requests_per_unit: 1, replaces: [{name: login}]}
  - key: internal
    rate_limit: {unlimited: true}
`)
	rc, _, err := ToRateLimitConfig(src)
	if err != nil {
		t.Fatal(err)
	}
	back := FromRateLimitConfig(rc, "xds:api")
	if _, err := policy.Compile([]*policy.Config{back}); err != nil {
		t.Fatalf("compile: %v", err)
	}
	a, _ := policy.Marshal(src)
	b, _ := policy.Marshal(back)
	if string(a) != string(b) {
		t.Errorf("round trip changed the policy:\n%s\nvs\n%s", a, b)
	}
	if back.Source != "xds:api" {
		t.Errorf("source = %q", back.Source)
	}
}

// A limit with no unit reaches Compile as such, which names the problem.
func TestFromRateLimitConfigUnknownUnit(t *testing.T) {
	rc := &rlsconf.RateLimitConfig{Name: "d", Domain: "d", Descriptors: []*rlsconf.RateLimitDescriptor{
		{Key: "k", RateLimit: &rlsconf.RateLimitPolicy{RequestsPerUnit: 3}},
	}}
	_, err := policy.Compile([]*policy.Config{FromRateLimitConfig(rc, "xds:d")})
	if err == nil {
		t.Fatal("compile accepted a limit without a unit")
	}
	t.Logf("error: %v", err)
}
