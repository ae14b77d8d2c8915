package controlplane

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds/client"
)

// Deleting the only policy file of a control plane is refused: the status
// page says what would have been removed, the refusal is counted, and a
// real xDS client keeps its domains. With drops allowed the client follows.
func TestDeletingTheOnlyFileKeepsTheFleetsPolicies(t *testing.T) {
	for _, allow := range []bool{false, true} {
		dir := t.TempDir()
		file := filepath.Join(dir, "api.yaml")
		if err := os.WriteFile(file, []byte(apiPolicy), 0o644); err != nil {
			t.Fatal(err)
		}
		scope := stats.NewStore(stats.NewNullSink(), false)
		cp := startControlPlane(t, ServerOptions{Paths: []string{dir}, WatchInterval: 10 * time.Millisecond,
			DropGuard: policy.DropGuard{AllowDrop: allow}, Stats: scope, Logger: testkit.Quiet})
		w := startClient(t, client.Options{Addrs: []string{cp.grpcAddr}})
		testkit.Receive(t, "the first version applied", w.Ready())
		if w.domains() != "api" {
			t.Fatalf("client domains = %q", w.domains())
		}
		good := cp.Version()

		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		if allow {
			testkit.Eventually(t, "the deletion served and applied", func() bool { return w.domains() == "" && w.Version() == cp.Version() })
			continue
		}
		testkit.Eventually(t, "the refused deletion on the status page", func() bool {
			return strings.Contains(cp.Status().FileError, "would leave no domain (removed: api)")
		})
		if n := scope.NewCounter("xds.server.snapshot.rejected").Value(); n != 1 {
			t.Errorf("snapshot.rejected = %d, want the refused deletion counted once", n)
		}
		if cp.Version() != good || w.domains() != "api" || w.Version() != good {
			t.Fatalf("after the refused deletion: served %s, client has %q at %s", cp.Version(), w.domains(), w.Version())
		}
	}
}

func TestNewServerRefusesAnEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := NewServer(context.Background(), ServerOptions{Paths: []string{dir}, Logger: testkit.Quiet})
	if err == nil || !strings.Contains(err.Error(), dir+": no policy file") {
		t.Fatalf("err = %v, want it to name %s", err, dir)
	}
	if _, err := NewServer(context.Background(), ServerOptions{Paths: []string{dir}, DropGuard: policy.DropGuard{AllowDrop: true}, Logger: testkit.Quiet}); err != nil {
		t.Fatalf("with drops allowed: %v", err)
	}
}

// One admin delete is explicit and allowed, unless it deletes the last
// domain served.
func TestAdminDeleteOfTheLastDomain(t *testing.T) {
	for _, allow := range []bool{false, true} {
		cp := startControlPlane(t, ServerOptions{AdminToken: "t", DropGuard: policy.DropGuard{AllowDrop: allow}, Logger: testkit.Quiet})
		put(t, cp, "api", apiPolicy)
		put(t, cp, "web", webPolicy)
		if code, body, _ := do(t, nil, "DELETE", cp.httpURL+"/v1/policies/web", "t", ""); code != http.StatusOK {
			t.Fatalf("delete one of two domains: %d %s", code, body)
		}
		code, body, _ := do(t, nil, "DELETE", cp.httpURL+"/v1/policies/api", "t", "")
		if allow {
			if code != http.StatusOK || len(cp.Status().Domains) != 0 {
				t.Fatalf("delete the last domain with drops allowed: %d %s", code, body)
			}
			continue
		}
		if code != http.StatusConflict || !strings.Contains(body, "would leave no domain (removed: api)") {
			t.Fatalf("delete the last domain: %d %s, want 409 naming it", code, body)
		}
		if d := cp.Status().Domains; len(d) != 1 || d[0].Domain != "api" {
			t.Fatalf("served domains after the refused delete: %v", d)
		}
	}
}
