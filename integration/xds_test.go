package integration

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	sotw "github.com/envoyproxy/go-control-plane/pkg/client/sotw/v3"
	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/xds"
	"github.com/floodgate/floodgate/xds/controlplane"
	"github.com/floodgate/floodgate/xds/policypb"
)

const xdsToken = "integration-token"

// xdsBlocked is a policy whose single rule refuses every request:
// requests_per_unit 0 makes enforcement visible without counting.
func xdsBlocked(domain string) string {
	return "domain: " + domain + "\ndescriptors:\n  - key: path\n    value: /blocked\n    rate_limit: {unit: hour, requests_per_unit: 0}\n"
}

const (
	xdsOK   = rlsv3.RateLimitResponse_OK
	xdsOver = rlsv3.RateLimitResponse_OVER_LIMIT
)

// TestXDSControlPlane runs the control plane with two RLS replicas fed only
// by xDS, once per durable store.
func TestXDSControlPlane(t *testing.T) {
	stores := []struct {
		name string
		spec func(t *testing.T) string
	}{
		{"file", func(t *testing.T) string { return "file:" + filepath.Join(t.TempDir(), "policies.json") }},
		{"redis", func(t *testing.T) string { return "redis://" + testserver.Redis(t).Addr }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			spec := st.spec(t)
			testXDSControlPlane(t, func() controlplane.ServerOptions {
				store, err := controlplane.OpenStore(spec)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { store.Close() })
				return controlplane.ServerOptions{Store: store, AdminToken: xdsToken, Logger: testkit.Quiet}
			})
		})
	}
}

func testXDSControlPlane(t *testing.T, opts func() controlplane.ServerOptions) {
	cp := newXDSControlPlane(t, opts)
	replicas := []*xdsReplica{newXDSReplica(t, "rls-1", cp.grpcAddr), newXDSReplica(t, "rls-2", cp.grpcAddr)}
	for _, r := range replicas {
		testkit.Receive(t, "the first policies", r.client.Ready())
		if c := r.code(t, "checkout", "path", "/blocked"); c != xdsOK {
			t.Fatalf("before any policy: %v", c)
		}
	}
	enforced := func(domain string) func() bool {
		return func() bool {
			for _, r := range replicas {
				if r.code(t, domain, "path", "/blocked") != xdsOver {
					return false
				}
			}
			return true
		}
	}

	// A policy created through the admin API is enforced by both replicas.
	if code, body := cp.admin("PUT", "/v1/policies/checkout", xdsToken, xdsBlocked("checkout")); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	testkit.Eventually(t, "both replicas enforcing checkout", enforced("checkout"))
	for _, r := range replicas {
		if c := r.code(t, "checkout", "path", "/open"); c != xdsOK {
			t.Fatalf("unmatched descriptor: %v", c)
		}
	}
	good := cp.srv.Version()

	// An invalid policy is refused with a clear error.
	code, body := cp.admin("PUT", "/v1/policies/search", xdsToken,
		"domain: search\ndescriptors:\n  - key: path\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n")
	if code != 400 || !strings.Contains(body, "admin:search:4") || !strings.Contains(body, "fortnight") {
		t.Fatalf("invalid policy: %d %s", code, body)
	}

	// A bad resource pushed straight into the snapshot cache is NACKed by
	// both replicas, the status page shows why, and the replicas keep the
	// last good policies.
	bad, err := controlplane.NewSnapshot("bad-1", map[string][]types.Resource{
		xds.PolicyType: {&policypb.Policy{Domain: "checkout", Yaml: "domain: checkout\ndescriptors: {\n"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.srv.Cache().SetSnapshot(context.Background(), controlplane.AllNodes, bad); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "both NACKs on the status page", func() bool {
		_, body := cp.admin("GET", "/v1/status", "", "")
		var st controlplane.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("status: %v\n%s", err, body)
		}
		nacked := 0
		for _, n := range st.Nodes {
			if ts := n.Types[xds.PolicyType]; ts != nil && ts.Nacked && ts.LastErrorVersion == "bad-1" &&
				strings.Contains(ts.LastError, "checkout") && ts.AckedVersion == good {
				nacked++
			}
		}
		if nacked != 2 {
			t.Logf("status: %s", body)
		}
		return nacked == 2
	})
	for _, r := range replicas {
		if r.client.Version() != good {
			t.Fatalf("replica moved to %q", r.client.Version())
		}
	}
	if !enforced("checkout")() {
		t.Fatal("a replica dropped its policies after the NACK")
	}

	// Killing the control plane: the replicas keep enforcing. Restarting it:
	// no policy is lost, and the replicas follow it again.
	cp.kill()
	if !enforced("checkout")() {
		t.Fatal("a replica dropped its policies while the control plane was down")
	}
	cp.start()
	if v := cp.srv.Version(); v != good {
		t.Fatalf("restarted at version %q, was %q", v, good)
	}
	if code, body := cp.admin("GET", "/v1/policies/checkout", "", ""); code != 200 || !strings.Contains(body, "/blocked") {
		t.Fatalf("after restart: %d %s", code, body)
	}
	testkit.Eventually(t, "both replicas reconnected", func() bool {
		st := cp.srv.Status()
		connected := 0
		for _, n := range st.Nodes {
			if n.Streams > 0 {
				connected++
			}
		}
		return connected == 2
	})
	if code, body := cp.admin("PUT", "/v1/policies/search", xdsToken, xdsBlocked("search")); code != 201 {
		t.Fatalf("create after restart: %d %s", code, body)
	}
	testkit.Eventually(t, "both replicas enforcing search", enforced("search"))
	if !enforced("checkout")() {
		t.Fatal("checkout lost across the restart")
	}

	// A replica started afterwards gets everything.
	late := newXDSReplica(t, "rls-late", cp.grpcAddr)
	testkit.Receive(t, "the late replica's first policies", late.client.Ready())
	if late.code(t, "checkout", "path", "/blocked") != xdsOver || late.code(t, "search", "path", "/blocked") != xdsOver {
		t.Fatal("late replica misses policies")
	}
}

// An independent consumer of the standard RateLimitConfig type, as
// envoyproxy/ratelimit's xDS mode is one, drives the control plane with
// go-control-plane's own SotW client.
func TestXDSStandardResourceConsumer(t *testing.T) {
	cp := newXDSControlPlane(t, func() controlplane.ServerOptions {
		return controlplane.ServerOptions{AdminToken: xdsToken, Logger: testkit.Quiet}
	})
	if code, body := cp.admin("PUT", "/v1/policies/checkout", xdsToken, xdsBlocked("checkout")); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	conn, err := grpc.NewClient(cp.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := sotw.NewADSClient(ctx, &core.Node{Id: "envoy-ratelimit"}, xds.RateLimitConfigType)
	if err := c.InitConnect(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Fetch()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Resources) != 1 {
		t.Fatalf("%d resources", len(resp.Resources))
	}
	var rc rlsconf.RateLimitConfig
	if err := resp.Resources[0].UnmarshalTo(&rc); err != nil {
		t.Fatal(err)
	}
	d := rc.GetDescriptors()[0]
	if rc.GetName() != "checkout" || rc.GetDomain() != "checkout" || d.GetKey() != "path" || d.GetValue() != "/blocked" ||
		d.GetRateLimit().GetUnit() != rlsconf.RateLimitUnit_HOUR || d.GetRateLimit().GetRequestsPerUnit() != 0 {
		t.Fatalf("resource: %v", &rc)
	}
	if err := c.Ack(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the ACK on the status page", func() bool {
		for _, n := range cp.srv.Status().Nodes {
			if ts := n.Types[xds.RateLimitConfigType]; n.ID == "envoy-ratelimit" && ts != nil && ts.AckedVersion == cp.srv.Version() {
				return true
			}
		}
		return false
	})
}
