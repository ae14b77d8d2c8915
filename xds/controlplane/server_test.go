package controlplane

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	sotw "github.com/envoyproxy/go-control-plane/pkg/client/sotw/v3"
	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"
	rlsconfigservice "github.com/envoyproxy/go-control-plane/ratelimit/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/xds"
	"github.com/floodgate/floodgate/xds/client"
	"github.com/floodgate/floodgate/xds/policypb"
)

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// An independent consumer of the standard type, go-control-plane's own SotW
// client as envoyproxy/ratelimit uses it, gets one RateLimitConfig per
// domain and every change; its ACKs show on the status page.
func TestStandardTypeWithGoControlPlaneClient(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{AdminToken: "t", Logger: testkit.Quiet})
	if code, body, _ := do(t, nil, "PUT", cp.httpURL+"/v1/policies/api", "t", apiPolicy); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := sotw.NewADSClient(ctx, &core.Node{Id: "standard-rls"}, xds.RateLimitConfigType)
	if err := c.InitConnect(dial(t, cp.grpcAddr)); err != nil {
		t.Fatal(err)
	}
	fetch := func() map[string]*rlsconf.RateLimitConfig {
		t.Helper()
		resp, err := c.Fetch()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*rlsconf.RateLimitConfig{}
		for _, a := range resp.Resources {
			var rc rlsconf.RateLimitConfig
			if err := a.UnmarshalTo(&rc); err != nil {
				t.Fatalf("resource %s: %v", a.GetTypeUrl(), err)
			}
			out[rc.GetName()] = &rc
		}
		if err := c.Ack(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := fetch()
	if rc := got["api"]; len(got) != 1 || rc.GetDomain() != "api" || rc.GetDescriptors()[0].GetRateLimit().GetRequestsPerUnit() != 5 {
		t.Fatalf("first response: %v", got)
	}
	if code, body, _ := do(t, nil, "PUT", cp.httpURL+"/v1/policies/web", "t", webPolicy); code != 201 {
		t.Fatalf("create web: %d %s", code, body)
	}
	if got = fetch(); len(got) != 2 || got["web"] == nil {
		t.Fatalf("second response: %v", got)
	}
	testkit.Eventually(t, "the ACK on the status page", func() bool {
		n, ok := cp.Acks().Node("standard-rls")
		ts := n.Types[xds.RateLimitConfigType]
		return ok && ts != nil && ts.AckedVersion == cp.Version() && ts.Acks >= 2
	})
}

// A node's NACK is recorded with the version it rejected, and the rejected
// version is not sent again: the next response carries the next version.
func TestNackRecordedAndNotResent(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{AdminToken: "t", Logger: testkit.Quiet})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(dial(t, cp.grpcAddr)).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &core.Node{Id: "raw"}
	send := func(req *discovery.DiscoveryRequest) {
		t.Helper()
		req.Node, req.TypeUrl = node, xds.PolicyType
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	send(&discovery.DiscoveryRequest{})
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	send(&discovery.DiscoveryRequest{VersionInfo: first.GetVersionInfo(), ResponseNonce: first.GetNonce()})

	bad, err := NewSnapshot("bad-1", map[string][]types.Resource{
		xds.PolicyType: {&policypb.Policy{Domain: "api", Yaml: "domain: api\ndescriptors: [oops"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Cache().SetSnapshot(ctx, AllNodes, bad); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil || resp.GetVersionInfo() != "bad-1" {
		t.Fatalf("bad response: %v, %v", resp, err)
	}
	send(&discovery.DiscoveryRequest{VersionInfo: first.GetVersionInfo(), ResponseNonce: resp.GetNonce(),
		ErrorDetail: &rpcstatus.Status{Code: 3, Message: "cannot parse api"}})
	testkit.Eventually(t, "the NACK on the status page", func() bool {
		for _, n := range cp.Status().Nodes {
			if ts := n.Types[xds.PolicyType]; n.ID == "raw" && ts != nil && ts.Nacked {
				return ts.LastError == "cannot parse api" && ts.LastErrorVersion == "bad-1" && ts.AckedVersion == first.GetVersionInfo()
			}
		}
		return false
	})
	if code, body, _ := do(t, nil, "PUT", cp.httpURL+"/v1/policies/api", "t", apiPolicy); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	next, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if next.GetVersionInfo() != cp.Version() || len(next.GetResources()) != 1 {
		t.Fatalf("after the NACK got version %q with %d resources, want %q", next.GetVersionInfo(), len(next.GetResources()), cp.Version())
	}
}

// Delta ADS serves the same resources, per resource, and its ACKs count.
func TestDeltaADS(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{AdminToken: "t", Logger: testkit.Quiet})
	for _, p := range []string{apiPolicy, webPolicy} {
		domain := strings.TrimPrefix(strings.SplitN(p, "\n", 2)[0], "domain: ")
		if code, body, _ := do(t, nil, "PUT", cp.httpURL+"/v1/policies/"+domain, "t", p); code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(dial(t, cp.grpcAddr)).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &core.Node{Id: "delta"}
	if err := stream.Send(&discovery.DeltaDiscoveryRequest{Node: node, TypeUrl: xds.PolicyType}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range resp.GetResources() {
		names[r.GetName()] = true
	}
	if !names["api"] || !names["web"] || len(names) != 2 {
		t.Fatalf("delta resources: %v", names)
	}
	if err := stream.Send(&discovery.DeltaDiscoveryRequest{Node: node, TypeUrl: xds.PolicyType, ResponseNonce: resp.GetNonce()}); err != nil {
		t.Fatal(err)
	}
	// Deleting one domain sends only its removal.
	if code, body, _ := do(t, nil, "DELETE", cp.httpURL+"/v1/policies/web", "t", ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	resp, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) != 0 || strings.Join(resp.GetRemovedResources(), ",") != "web" {
		t.Fatalf("after delete: %d resources, removed %v", len(resp.GetResources()), resp.GetRemovedResources())
	}
	testkit.Eventually(t, "delta ACK", func() bool {
		n, ok := cp.Acks().Node("delta")
		return ok && n.Types[xds.PolicyType] != nil && n.Types[xds.PolicyType].Acks >= 1
	})
}

// Policy files are watched: a good change is served, a bad one is reported
// on the status page while the last good version stays.
func TestFileChangesServed(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "api.yaml")
	if err := os.WriteFile(file, []byte(apiPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	cp := startControlPlane(t, ServerOptions{Paths: []string{dir}, WatchInterval: 10 * time.Millisecond, Logger: testkit.Quiet})
	w := startClient(t, client.Options{Addrs: []string{cp.grpcAddr}})
	testkit.Receive(t, "the first version applied", w.Ready())

	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(webPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the new file served", func() bool { return w.domains() == "api,web" && w.Version() == cp.Version() })
	good := cp.Version()

	if err := os.WriteFile(file, []byte("domain: api\ndescriptors: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the bad file reported", func() bool { return strings.Contains(cp.Status().FileError, "api.yaml") })
	if cp.Version() != good || w.domains() != "api,web" {
		t.Fatalf("a bad file changed what is served: %s, %s", cp.Version(), w.domains())
	}
}

func TestNewServerRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("domain: x\ndescriptors:\n  - key: k\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewServer(context.Background(), ServerOptions{Paths: []string{dir}, Logger: testkit.Quiet})
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4") {
		t.Fatalf("err = %v", err)
	}
}

// Control planes sharing one Redis serve the same versions: a change through
// one is served by all.
func TestReplicasShareRedis(t *testing.T) {
	srv := testserver.Redis(t)
	replica := func() *controlPlane {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		store := NewRedisStore(rdb, RedisStoreOptions{PollInterval: 50 * time.Millisecond, Logger: testkit.Quiet})
		return startControlPlane(t, ServerOptions{AdminToken: "t", Store: store, Logger: testkit.Quiet})
	}
	cp1, cp2 := replica(), replica()
	w := startClient(t, client.Options{Addrs: []string{cp2.grpcAddr}})
	put(t, cp1, "api", apiPolicy)
	testkit.Eventually(t, "cp2 serving cp1's change", func() bool { return cp2.Version() == cp1.Version() })
	testkit.Eventually(t, "the client of cp2", func() bool { return w.domains() == "api" && w.Version() == cp1.Version() })

	// Writers through different replicas still cannot overwrite each other.
	code, body, _ := do(t, nil, "PUT", cp2.httpURL+"/v1/policies/api", "t", apiPolicy, "If-Match", `"0"`)
	if code != 412 {
		t.Fatalf("stale write through cp2: %d %s", code, body)
	}
}

// The standalone RateLimitConfig discovery service serves the standard type
// without ADS.
func TestRlsConfigsService(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{AdminToken: "t", Logger: testkit.Quiet})
	put(t, cp, "api", apiPolicy)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := rlsconfigservice.NewRateLimitConfigDiscoveryServiceClient(dial(t, cp.grpcAddr)).StreamRlsConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&discovery.DiscoveryRequest{Node: &core.Node{Id: "rlsconfigs"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetTypeUrl() != xds.RateLimitConfigType || len(resp.GetResources()) != 1 || resp.GetVersionInfo() != cp.Version() {
		t.Fatalf("response: %s, %d resources, version %s", resp.GetTypeUrl(), len(resp.GetResources()), resp.GetVersionInfo())
	}
}
