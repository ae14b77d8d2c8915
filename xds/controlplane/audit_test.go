package controlplane

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/tokenfile"
)

// auditEntries reads GET /v1/audit (query: "" or "?limit=N").
func auditEntries(t *testing.T, c *http.Client, cp *controlPlane, query string) []AuditEntry {
	t.Helper()
	code, body, _ := do(t, c, http.MethodGet, cp.httpURL+"/v1/audit"+query, "", "")
	if code != http.StatusOK {
		t.Fatalf("audit: %d %s", code, body)
	}
	var got struct {
		Entries []AuditEntry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("audit: %v: %s", err, body)
	}
	return got.Entries
}

// Admin writes land in the audit log, newest first, with who wrote (the
// token's id, never the token), what, and the versions before and after;
// the log keeps its newest entries only.
func TestAuditLog(t *testing.T) {
	const token = "s3cret-admin-token"
	cp := startControlPlane(t, ServerOptions{AdminToken: token, AuditEntries: 3, Name: "cp-a", Logger: testkit.Quiet})
	write := func(method, domain, body string, header ...string) {
		t.Helper()
		if code, resp, _ := do(t, nil, method, cp.httpURL+"/v1/policies/"+domain, token, body, header...); code/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, domain, code, resp)
		}
	}
	write("PUT", "api", apiPolicy)                    // version 1
	write("PUT", "api", apiPolicy, "If-Match", `"1"`) // 1 -> 2
	write("PUT", "web", webPolicy)                    // version 3
	write("PUT", "web", webPolicy, "If-Match", "*")   // 3 -> 4, no version named
	write("DELETE", "api", "")                        // 2 -> deleted
	if code, _, _ := do(t, nil, "DELETE", cp.httpURL+"/v1/policies/web", "wrong", ""); code != http.StatusUnauthorized {
		t.Fatalf("unauthorized delete: %d", code)
	}

	got := auditEntries(t, nil, cp, "")
	want := []AuditEntry{
		{Action: AuditDelete, Domain: "api", OldVersion: 2, NewVersion: 0},
		{Action: AuditPut, Domain: "web", OldVersion: 3, NewVersion: 4},
		{Action: AuditPut, Domain: "web", OldVersion: 0, NewVersion: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("audit log holds %d entries, want the newest %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Action != w.Action || g.Domain != w.Domain || g.OldVersion != w.OldVersion || g.NewVersion != w.NewVersion {
			t.Errorf("entry %d: %+v, want %+v", i, g, w)
		}
		if g.Who != tokenID(token) || strings.Contains(g.Who, token) || g.ControlPlane != "cp-a" || g.Time.IsZero() || g.Served == "" {
			t.Errorf("entry %d: who %q, control plane %q, time %v, served %q", i, g.Who, g.ControlPlane, g.Time, g.Served)
		}
	}
	if got[0].Served != cp.Version() {
		t.Errorf("last write served at %q, control plane at %q", got[0].Served, cp.Version())
	}
	if one := auditEntries(t, nil, cp, "?limit=1"); len(one) != 1 || one[0].Action != AuditDelete {
		t.Errorf("limit=1: %+v", one)
	}
	if code, _, _ := do(t, nil, http.MethodGet, cp.httpURL+"/v1/audit?limit=x", "", ""); code != http.StatusBadRequest {
		t.Errorf("limit=x: %d", code)
	}
}

// The admin token can come from a file, re-read when it changes.
func TestAdminTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := tokenfile.Open(path, tokenfile.Options{Every: time.Millisecond, Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	cp := startControlPlane(t, ServerOptions{AdminTokens: tokens, Logger: testkit.Quiet})
	status := func(token string) int {
		code, _, _ := do(t, nil, "PUT", cp.httpURL+"/v1/policies/api", token, apiPolicy, "If-Match", "*")
		return code
	}
	if code := status("first"); code/100 != 2 {
		t.Fatalf("write with the file's token: %d", code)
	}
	if err := os.WriteFile(path, []byte("# rotated\nsecond\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the rotated token admitted", func() bool { return status("second")/100 == 2 })
	if code := status("first"); code != http.StatusUnauthorized {
		t.Fatalf("write with the replaced token: %d", code)
	}
	if es := auditEntries(t, nil, cp, "?limit=1"); len(es) != 1 || es[0].Who != tokenID("second") {
		t.Fatalf("audit after rotation: %+v", es)
	}
}
