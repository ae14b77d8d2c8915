package controlplane

import (
	"context"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/xds"
	stats "github.com/lyft/gostats"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
)

// The tracker follows one stream through subscribe, ACK, NACK and ACK, as
// go-control-plane calls it.
func TestAckTracker(t *testing.T) {
	st := stats.NewStore(stats.NewNullSink(), false)
	tr := NewAckTracker(st.Scope("xds.server"), testkit.Quiet)
	node := &core.Node{Id: "rls.1", Cluster: "edge"}
	ctx := context.Background()

	steps := []struct {
		name    string
		req     *discovery.DiscoveryRequest
		resp    *discovery.DiscoveryResponse
		acked   string
		nacked  bool
		rewrite string // the version the request must carry on to the cache
		lastErr string
		errVer  string
	}{
		{name: "subscribe", req: &discovery.DiscoveryRequest{Node: node}, resp: &discovery.DiscoveryResponse{VersionInfo: "1", Nonce: "a"}},
		{name: "ack", req: &discovery.DiscoveryRequest{VersionInfo: "1", ResponseNonce: "a"}, resp: &discovery.DiscoveryResponse{VersionInfo: "2", Nonce: "b"},
			acked: "1", rewrite: "1"},
		{name: "nack", req: &discovery.DiscoveryRequest{VersionInfo: "1", ResponseNonce: "b", ErrorDetail: &rpcstatus.Status{Message: "bad"}},
			resp: &discovery.DiscoveryResponse{VersionInfo: "3", Nonce: "c"}, acked: "1", nacked: true, rewrite: "2", lastErr: "bad", errVer: "2"},
		{name: "ack after nack", req: &discovery.DiscoveryRequest{VersionInfo: "3", ResponseNonce: "c"},
			acked: "3", rewrite: "3", lastErr: "bad", errVer: "2"},
	}
	if err := tr.OnStreamOpen(ctx, 7, ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		s.req.TypeUrl = xds.PolicyType
		if err := tr.OnStreamRequest(7, s.req); err != nil {
			t.Fatal(err)
		}
		if s.rewrite != "" && s.req.VersionInfo != s.rewrite {
			t.Errorf("%s: request goes on with version %q, want %q", s.name, s.req.VersionInfo, s.rewrite)
		}
		if s.resp != nil {
			s.resp.TypeUrl = xds.PolicyType
			tr.OnStreamResponse(ctx, 7, s.req, s.resp)
		}
		n, ok := tr.Node("rls.1")
		ts := n.Types[xds.PolicyType]
		if !ok || n.Cluster != "edge" || n.Streams != 1 || ts == nil {
			t.Fatalf("%s: node %+v", s.name, n)
		}
		if ts.AckedVersion != s.acked || ts.Nacked != s.nacked || ts.LastError != s.lastErr || ts.LastErrorVersion != s.errVer {
			t.Errorf("%s: %+v", s.name, ts)
		}
	}
	tr.OnStreamClosed(7, node)
	if n, _ := tr.Node("rls.1"); n.Streams != 0 {
		t.Errorf("streams after close: %d", n.Streams)
	}
	if v := st.NewCounter("xds.server.ack").Value(); v != 2 {
		t.Errorf("ack counter %d", v)
	}
	if v := st.NewCounter("xds.server.node.rls_1.nack").Value(); v != 1 {
		t.Errorf("node nack counter %d", v)
	}
}
