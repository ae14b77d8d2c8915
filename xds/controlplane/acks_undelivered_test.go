package controlplane

import (
	"context"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/xds"
)

// A stream that ends on a response its node never answered marks the node
// failing, unless the node already runs that version; the next answer
// clears it.
func TestAckTrackerUndelivered(t *testing.T) {
	st := stats.NewStore(stats.NewNullSink(), false)
	tr := NewAckTracker(st.Scope("xds.server"), testkit.Quiet)
	ctx := context.Background()
	stream := func(id int64, node string) {
		t.Helper()
		if err := tr.OnStreamOpen(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
		_ = tr.OnStreamRequest(id, &discovery.DiscoveryRequest{Node: &core.Node{Id: node}, TypeUrl: xds.PolicyType})
	}
	send := func(id int64, version, nonce string) {
		tr.OnStreamResponse(ctx, id, nil, &discovery.DiscoveryResponse{TypeUrl: xds.PolicyType, VersionInfo: version, Nonce: nonce})
	}
	ack := func(id int64, version, nonce string) {
		_ = tr.OnStreamRequest(id, &discovery.DiscoveryRequest{TypeUrl: xds.PolicyType, VersionInfo: version, ResponseNonce: nonce})
	}
	state := func(node string) TypeStatus {
		n, _ := tr.Node(node)
		if ts := n.Types[xds.PolicyType]; ts != nil {
			return *ts
		}
		return TypeStatus{}
	}

	// Runs v1; the stream ends on a resend of v1: nothing was lost.
	stream(1, "runs-it")
	send(1, "v1", "a")
	ack(1, "v1", "a")
	send(1, "v1", "b")
	tr.OnStreamClosed(1, nil)
	if ts := state("runs-it"); ts.Failing || ts.Undelivered != 0 {
		t.Fatalf("a node that runs the version: %+v", ts)
	}

	// Never takes v2, then does.
	stream(2, "cut-off")
	send(2, "v2", "a")
	tr.OnStreamClosed(2, nil)
	if ts := state("cut-off"); !ts.Failing || ts.UndeliveredVersion != "v2" || ts.UndeliveredBytes == 0 || ts.Undelivered != 1 || ts.LastErrorVersion != "v2" {
		t.Fatalf("a node whose stream ended on v2: %+v", ts)
	}
	stream(3, "cut-off")
	send(3, "v3", "a")
	ack(3, "v3", "a")
	if ts := state("cut-off"); ts.Failing || ts.UndeliveredVersion != "" || ts.AckedVersion != "v3" || ts.Undelivered != 1 {
		t.Fatalf("after the node's ACK: %+v", ts)
	}
	if n := st.NewCounter("xds.server.undelivered").Value(); n != 1 {
		t.Errorf("xds.server.undelivered = %d", n)
	}
}
