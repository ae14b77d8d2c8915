package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/xds"
	"github.com/floodgate/floodgate/xds/client"
)

// bigPolicy is a valid policy for domain that takes about size bytes: one
// descriptor value that long.
func bigPolicy(domain string, size int) string {
	return fmt.Sprintf("domain: %s\ndescriptors:\n  - key: k\n    value: %s\n    rate_limit: {unit: minute, requests_per_unit: 5}\n",
		domain, strings.Repeat("v", size))
}

// status reads the status page over HTTP, as an operator does.
func status(t *testing.T, cp *controlPlane) Status {
	t.Helper()
	code, body, _ := do(t, nil, "GET", cp.httpURL+"/v1/status", "", "")
	var st Status
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET /v1/status: %d %s", code, body)
	}
	return st
}

func nodeType(st Status, node, typeURL string) *TypeStatus {
	for _, n := range st.Nodes {
		if n.ID == node {
			return n.Types[typeURL]
		}
	}
	return nil
}

// Policies larger than gRPC's default 4 MiB receive limit reach a client
// with the default options, up to xds.MaxMessageBytes; an admin write that
// would pass it is refused with 413 and a file change that would is not
// served, while the last good version keeps serving.
func TestPoliciesUpToTheMaximumReachClients(t *testing.T) {
	if testkit.RaceEnabled {
		// Parsing and compiling 16 MB of YAML under the race detector
		// takes minutes on 2 cores; the test has no goroutines of its own
		// that the detector would learn from.
		t.Skip("moves 16 MB of policies; run without -race")
	}
	const valueBytes = 1_000_000
	dir := t.TempDir()
	for i := range 15 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("big%02d.yaml", i)), []byte(bigPolicy(fmt.Sprintf("big%02d", i), valueBytes)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cp := startControlPlane(t, ServerOptions{Paths: []string{dir}, WatchInterval: 200 * time.Millisecond, AdminToken: "t", Logger: testkit.Quiet})
	w := startClient(t, client.Options{Addrs: []string{cp.grpcAddr}})
	testkit.Eventually(t, "the client on 15 MB of policies", func() bool { return w.Version() == cp.Version() })
	if got := len(domains(w.last.Load())); got != 15 {
		t.Fatalf("client applied %d domains, want 15", got)
	}

	put(t, cp, "big15", bigPolicy("big15", valueBytes))
	full := cp.Version()
	testkit.Eventually(t, "the client on 16 MB of policies", func() bool { return w.Version() == full })

	code, body, _ := do(t, nil, "PUT", cp.httpURL+"/v1/policies/big16", "t", bigPolicy("big16", valueBytes))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, fmt.Sprintf("maximum of %d bytes", xds.MaxMessageBytes)) ||
		!strings.Contains(body, "-byte (16.") {
		t.Fatalf("a write past the maximum: %d %s\nwant 413 naming the size and the maximum", code, body)
	}
	if st := status(t, cp); st.Version != full || st.Error != "" {
		t.Fatalf("after the refused write: version %q (want %q), error %q", st.Version, full, st.Error)
	}

	// The same through the files: refused, reported, the last good version served.
	if err := os.WriteFile(filepath.Join(dir, "big16.yaml"), []byte(bigPolicy("big16", valueBytes)), 0o644); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the oversized file change reported", func() bool {
		return strings.Contains(status(t, cp).Error, "over the maximum")
	})
	if st := status(t, cp); st.Version != full || w.Version() != full {
		t.Fatalf("after the oversized file change: served %q, client %q, want %q", st.Version, w.Version(), full)
	}
}

// A node that cannot receive a version (here one whose receive limit is
// smaller than the response) shows as failing on the status page, and an
// RLS fed by it that never received policies is not healthy; both recover
// once a version fits.
func TestStatusReportsANodeThatCannotReceive(t *testing.T) {
	// The test deletes half its domains on purpose.
	cp := startControlPlane(t, ServerOptions{AdminToken: "t", DropGuard: policy.DropGuard{AllowDrop: true}, Logger: testkit.Quiet})
	put(t, cp, "big", bigPolicy("big", 100_000))
	tooBig := cp.Version()

	svc := ratelimit.NewService(ratelimit.Options{})
	c, err := client.New(client.Options{
		Addrs: []string{cp.grpcAddr}, NodeID: "small-rls", MaxReceiveBytes: 64 << 10,
		Apply:   svc.SetSnapshot,
		Backoff: backoff.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		Logger:  testkit.Quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })
	health := httptest.NewServer(svc.HTTPHandler(func() (bool, map[string]any) { return true, nil }))
	defer health.Close()
	healthcheck := func() (int, string) {
		resp, err := http.Get(health.URL + "/healthcheck")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	testkit.Eventually(t, "the node failing on the status page", func() bool {
		ts := nodeType(status(t, cp), "small-rls", xds.PolicyType)
		return ts != nil && ts.Failing && ts.UndeliveredVersion == tooBig && ts.UndeliveredBytes > 100_000 &&
			strings.Contains(ts.LastError, "receive limit")
	})
	if code, body := healthcheck(); code != http.StatusInternalServerError || !strings.Contains(body, "none in force") {
		t.Fatalf("/healthcheck of an RLS with no policies: %d %s", code, body)
	}

	// A version that fits and holds a domain: one with none would be
	// received, but would leave the RLS unhealthy still.
	put(t, cp, "small", bigPolicy("small", 10))
	code, body, _ := do(t, nil, "DELETE", cp.httpURL+"/v1/policies/big", "t", "")
	if code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, body)
	}
	fits := cp.Version()
	testkit.Eventually(t, "the node on the version that fits", func() bool {
		ts := nodeType(status(t, cp), "small-rls", xds.PolicyType)
		return ts != nil && !ts.Failing && ts.AckedVersion == fits && ts.Undelivered > 0
	})
	if code, body := healthcheck(); code != http.StatusOK {
		t.Fatalf("/healthcheck with policies in force: %d %s", code, body)
	}
}
