package xds

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds/policypb"
)

const globalYAML = "domain: g\ndescriptors:\n  - key: user\n    rate_limit: {unit: minute, requests_per_unit: 1000, scope: global}\n"

// The standard resource has no scope: a global limit is named as counted per
// datacenter; Floodgate's own resource carries it to the limit.
func TestScopeOverXDS(t *testing.T) {
	c := mustParse(t, globalYAML)
	st, err := ToStandard(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(st.Dropped, ","); got != "scope" {
		t.Errorf("dropped = %s", got)
	}
	if got := strings.Join(st.Omitted, "\n"); got != "omitted: domain g descriptor user: scope global (counted per datacenter)" {
		t.Errorf("omitted = %s", got)
	}

	y, err := policy.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	a, err := anypb.New(&policypb.Policy{Domain: "g", Yaml: string(y), Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode([]*anypb.Any{a})
	if err != nil {
		t.Fatal(err)
	}
	s, err := policy.Compile(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Limits) != 1 || s.Limits[0].Scope != policy.ScopeGlobal {
		t.Errorf("the Policy resource lost the scope: %+v", s.Limits)
	}
}
