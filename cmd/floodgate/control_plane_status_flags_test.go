package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testserver"
)

// --admin-token-file authorizes writes, --name names the control plane on
// the status page and in the audit log, which GET /v1/audit serves.
func TestControlPlaneStatusFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tokenPath := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(tokenPath, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	stopped := make(chan int, 1)
	go func() {
		stopped <- run(ctx, []string{"control-plane", "--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--store", "memory:",
			"--admin-token-file", tokenPath, "--name", "cp-test", "--node-expiry", "30s", "--audit-entries", "5", "--log-level", "warn"})
	}()
	base := "http://" + httpAddr
	waitHTTP(t, base+"/v1/status")

	req, _ := http.NewRequest("PUT", base+"/v1/policies/shop", strings.NewReader("domain: shop\ndescriptors:\n  - key: cart\n    rate_limit: {unit: minute, requests_per_unit: 1}\n"))
	req.Header.Set("Authorization", "Bearer from-file")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT with the file's token: %d", resp.StatusCode)
	}

	var audit struct {
		Entries []struct {
			Who, Action, Domain, ControlPlane string
		} `json:"entries"`
	}
	getJSON(t, base+"/v1/audit", &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].Action != "put" || audit.Entries[0].Domain != "shop" ||
		!strings.HasPrefix(audit.Entries[0].Who, "token:") || strings.Contains(audit.Entries[0].Who, "from-file") {
		t.Fatalf("audit: %+v", audit)
	}
	var status struct {
		ControlPlane string `json:"control_plane"`
	}
	getJSON(t, base+"/v1/status", &status)
	if status.ControlPlane != "cp-test" {
		t.Fatalf("status names control plane %q", status.ControlPlane)
	}
	cancel()
	waitExits(t, stopped, 1)
}

func TestControlPlaneStatusFlagsRefuseNonPositive(t *testing.T) {
	for _, args := range [][]string{{"--node-expiry", "0s"}, {"--audit-entries", "0"}, {"--admin-token-file", filepath.Join(t.TempDir(), "missing")}} {
		if code := run(context.Background(), append([]string{"control-plane", "--store", "memory:", "--log-level", "error",
			"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, args...)); code != 1 {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v: %s", url, err, b)
	}
}
