package examples

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/floodgate/floodgate/policy"
)

// The multi-datacenter example's policies compile, with one global rule.
func TestMultiDatacenterPolicies(t *testing.T) {
	files, err := filepath.Glob("multi-datacenter/policies/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no policies: %v", err)
	}
	var configs []*policy.Config
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := policy.Parse(f, b)
		if err != nil {
			t.Fatal(err)
		}
		configs = append(configs, c)
	}
	s, err := policy.Compile(configs)
	if err != nil {
		t.Fatal(err)
	}
	global := 0
	for _, l := range s.Limits {
		if l.Scope == policy.ScopeGlobal {
			global++
		}
	}
	if global != 1 {
		t.Errorf("%d global rules, want 1", global)
	}
}
