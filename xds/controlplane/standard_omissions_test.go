package controlplane

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
)

// /v1/status names what the standard resource leaves out of a domain that
// uses Floodgate's algorithms, lists and matching.
func TestStatusNamesStandardOmissions(t *testing.T) {
	src, err := os.ReadFile("../../policy/testdata/extensions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	cp := startControlPlane(t, ServerOptions{Paths: []string{dir}, Logger: testkit.Quiet})
	st := cp.Status()
	for _, w := range []string{
		"omitted: domain api descriptor user: algorithm sliding_window (served as a fixed window)",
		"omitted: domain api descriptor api_key: rate_limits per_hour (only per_second is served)",
		"omitted: domain api descriptor remote_address_10.0.0.0/8: match cidr (the descriptor and those below it are not served)",
	} {
		if !slices.Contains(st.StandardOmissions, w) {
			t.Errorf("status omissions lack %q: %q", w, st.StandardOmissions)
		}
	}
	if got := strings.Join(st.StandardDropped["api"], ","); got != "algorithm,burst,match,rate_limits,unit_multiplier" {
		t.Errorf("standard_dropped = %s", got)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"standard_omissions":["omitted: domain api descriptor user: algorithm sliding_window`) {
		t.Errorf("status JSON lacks standard_omissions: %s", b)
	}
}
