package controlplane

import (
	"context"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/xds"
	"github.com/floodgate/floodgate/xds/client"
)

// deltaNode is a delta xDS client on one ADS stream, answering by hand.
type deltaNode struct {
	t      *testing.T
	stream discovery.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
	cancel context.CancelFunc
	conn   *grpc.ClientConn
}

func startDeltaNode(t *testing.T, addr, id string) *deltaNode {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		cancel()
		conn.Close()
		t.Fatal(err)
	}
	d := &deltaNode{t: t, stream: stream, cancel: cancel, conn: conn}
	t.Cleanup(d.leave)
	d.send(&discovery.DeltaDiscoveryRequest{Node: &core.Node{Id: id}, TypeUrl: xds.PolicyType})
	return d
}

func (d *deltaNode) send(req *discovery.DeltaDiscoveryRequest) {
	d.t.Helper()
	if err := d.stream.Send(req); err != nil {
		d.t.Fatalf("delta send: %v", err)
	}
}

// recv waits for the next response.
func (d *deltaNode) recv() *discovery.DeltaDiscoveryResponse {
	d.t.Helper()
	got := make(chan *discovery.DeltaDiscoveryResponse, 1)
	go func() { // ends with the stream, which leave or the response ends
		r, err := d.stream.Recv()
		if err != nil {
			d.t.Errorf("delta recv: %v", err)
		}
		got <- r
	}()
	return testkit.Receive(d.t, "a delta response", got)
}

func (d *deltaNode) ack(r *discovery.DeltaDiscoveryResponse) {
	d.send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()})
}

func (d *deltaNode) nack(r *discovery.DeltaDiscoveryResponse, msg string) {
	d.send(&discovery.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce(),
		ErrorDetail: &rpcstatus.Status{Message: msg}})
}

func (d *deltaNode) leave() {
	_ = d.stream.CloseSend()
	d.cancel()
	d.conn.Close()
}

// typeStatus is a node's state for the Policy type, as /v1/status shows it.
func typeStatus(cp *controlPlane, node string) TypeStatus {
	for _, n := range cp.Status().Nodes {
		if n.ID == node && n.Types[xds.PolicyType] != nil {
			return *n.Types[xds.PolicyType]
		}
	}
	return TypeStatus{}
}

// A delta client that comes and goes leaves the SotW nodes' status alone:
// the two protocols number their streams from 1 each.
func TestStatusFollowsSotWAfterDeltaClientLeaves(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{AdminToken: "t", Logger: testkit.Quiet})
	put(t, cp, "api", apiPolicy)
	w := startClient(t, client.Options{Addrs: []string{cp.grpcAddr}, NodeID: "sotw"})
	testkit.Receive(t, "the first version applied", w.Ready())
	testkit.Eventually(t, "the SotW node's ACK", func() bool { return typeStatus(cp, "sotw").AckedVersion == cp.Version() })

	d := startDeltaNode(t, cp.grpcAddr, "delta")
	d.ack(d.recv())
	testkit.Eventually(t, "the delta node's ACK", func() bool { return typeStatus(cp, "delta").AckedVersion == cp.Version() })
	d.leave()
	testkit.Eventually(t, "the delta stream closed", func() bool {
		n, ok := cp.Acks().Node("delta")
		return ok && n.Streams == 0
	})

	put(t, cp, "web", webPolicy)
	testkit.Eventually(t, "the SotW client on the new version", func() bool { return w.Version() == cp.Version() })
	testkit.Eventually(t, "the SotW node's ACK of the new version", func() bool { return typeStatus(cp, "sotw").AckedVersion == cp.Version() })
	if n, _ := cp.Acks().Node("sotw"); n.Streams != 1 {
		t.Errorf("SotW node streams = %d, want 1", n.Streams)
	}
}

// A delta NACK shows as one, the version before stays the one acked, and a
// second NACK keeps it so.
func TestStatusShowsDeltaNack(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{AdminToken: "t", Logger: testkit.Quiet})
	put(t, cp, "api", apiPolicy)
	// A SotW node on stream 1 as well, as in a real fleet.
	w := startClient(t, client.Options{Addrs: []string{cp.grpcAddr}, NodeID: "sotw"})
	testkit.Receive(t, "the first version applied", w.Ready())

	d := startDeltaNode(t, cp.grpcAddr, "delta")
	first := cp.Version()
	d.ack(d.recv())
	testkit.Eventually(t, "the delta ACK", func() bool { return typeStatus(cp, "delta").AckedVersion == first })

	for i, domain := range []string{"web", "shop"} {
		put(t, cp, domain, "domain: "+domain+"\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1}\n")
		d.nack(d.recv(), "refused "+domain)
		want := uint64(i + 1)
		testkit.Eventually(t, "the delta NACK", func() bool { return typeStatus(cp, "delta").Nacks == want })
		ts := typeStatus(cp, "delta")
		if !ts.Nacked || ts.AckedVersion != first || ts.LastError != "refused "+domain || ts.LastErrorVersion != cp.Version() {
			t.Fatalf("after NACK %d: %+v (served %s)", want, ts, cp.Version())
		}
	}
	testkit.Eventually(t, "the SotW node's ACK of the last version", func() bool { return typeStatus(cp, "sotw").AckedVersion == cp.Version() })
	if ts := typeStatus(cp, "sotw"); ts.Nacked || ts.Nacks != 0 {
		t.Errorf("the SotW node took the delta node's NACK: %+v", ts)
	}
}
