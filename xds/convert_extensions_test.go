package xds

import (
	"os"
	"strings"
	"testing"

	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds/policypb"
)

func issueConfig(t *testing.T) *policy.Config {
	t.Helper()
	src, err := os.ReadFile("../policy/testdata/extensions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, string(src))
}

// The standard resource carries fixed windows, one limit per descriptor and
// exact values, and names everything else it leaves out.
func TestToStandardOmitsExtensions(t *testing.T) {
	st, err := ToStandard(issueConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	sec, min := rlsconf.RateLimitUnit_SECOND, rlsconf.RateLimitUnit_MINUTE
	want := &rlsconf.RateLimitConfig{Name: "api", Domain: "api", Descriptors: []*rlsconf.RateLimitDescriptor{
		{Key: "user", RateLimit: &rlsconf.RateLimitPolicy{Unit: min, RequestsPerUnit: 100}},
		{Key: "tenant", RateLimit: &rlsconf.RateLimitPolicy{Unit: sec, RequestsPerUnit: 50}},
		{Key: "api_key", RateLimit: &rlsconf.RateLimitPolicy{Unit: sec, RequestsPerUnit: 10, Name: "per_second"}},
		{Key: "report", RateLimit: &rlsconf.RateLimitPolicy{Unit: min, RequestsPerUnit: 30}},
	}}
	if !proto.Equal(st.Config, want) {
		t.Errorf("config:\n got %v\nwant %v", st.Config, want)
	}
	if got := strings.Join(st.Dropped, ","); got != "algorithm,burst,match,rate_limits,unit_multiplier" {
		t.Errorf("dropped = %s", got)
	}
	wantOmitted := []string{
		"omitted: domain api descriptor user: algorithm sliding_window (served as a fixed window)",
		"omitted: domain api descriptor tenant: algorithm token_bucket (served as a fixed window)",
		"omitted: domain api descriptor tenant: burst 200",
		"omitted: domain api descriptor api_key: rate_limits per_hour (only per_second is served)",
		"omitted: domain api descriptor report: unit_multiplier 10 (served as windows of one minute)",
		"omitted: domain api descriptor remote_address_10.0.0.0/8: match cidr (the descriptor and those below it are not served)",
		"omitted: domain api descriptor path_^/v1/users/[0-9]+$: match regex (the descriptor and those below it are not served)",
		"omitted: domain api descriptor remote_address_203.0.113.0/24: match cidr (the descriptor and those below it are not served)",
	}
	if got := strings.Join(st.Omitted, "\n"); got != strings.Join(wantOmitted, "\n") {
		t.Errorf("omitted:\n%s\nwant\n%s", got, strings.Join(wantOmitted, "\n"))
	}

	plain, err := ToStandard(mustParse(t, "domain: p\ndescriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, unit_multiplier: 1}\n"))
	if err != nil || len(plain.Omitted) != 0 || len(plain.Dropped) != 0 {
		t.Errorf("a policy the resource expresses lost %v %v (%v)", plain.Dropped, plain.Omitted, err)
	}
}

// Floodgate's own resource carries the YAML as is: every new key reaches a
// replica and compiles to the same limits.
func TestPolicyResourceCarriesExtensions(t *testing.T) {
	c := issueConfig(t)
	y, err := policy.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	a, err := anypb.New(&policypb.Policy{Domain: "api", Yaml: string(y), Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode([]*anypb.Any{a})
	if err != nil {
		t.Fatal(err)
	}
	back, err := policy.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(back) != string(y) {
		t.Errorf("the Policy resource changed the YAML:\n%s\nvs\n%s", back, y)
	}
	s, err := policy.Compile(got)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := policy.Compile([]*policy.Config{c})
	var a1, b1 strings.Builder
	_ = policy.WriteDump(&a1, s)
	_ = policy.WriteDump(&b1, want)
	if a1.String() != b1.String() {
		t.Errorf("limits over xDS:\n%s\nwant\n%s", a1.String(), b1.String())
	}
}
