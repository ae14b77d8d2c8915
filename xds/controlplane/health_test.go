package controlplane

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/testkit"
)

// The control plane answers gRPC health for "" and its discovery services
// while it serves, and NOT_SERVING to a Watch once it stops.
func TestControlPlaneGRPCHealth(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{})
	cc, err := grpc.NewClient(cp.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	for _, name := range append([]string{""}, HealthNames...) {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: %v %v, want SERVING", name, resp.GetStatus(), err)
		}
	}

	watch, err := hc.Watch(context.Background(), &healthpb.HealthCheckRequest{Service: HealthNames[0]})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := watch.Recv(); err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch: %v %v, want SERVING first", first.GetStatus(), err)
	}
	stopped := make(chan struct{})
	go func() { defer close(stopped); cp.stop() }()
	next := make(chan healthpb.HealthCheckResponse_ServingStatus, 1)
	go func() {
		r, err := watch.Recv()
		if err != nil {
			next <- healthpb.HealthCheckResponse_UNKNOWN
			return
		}
		next <- r.GetStatus()
	}()
	if got := testkit.Receive(t, "a status on stop", next); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("on stop: %v, want NOT_SERVING", got)
	}
	testkit.Receive(t, "the control plane to stop", stopped)
}
