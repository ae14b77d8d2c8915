package ratelimit

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/testkit"
)

// gRPC health follows /healthcheck: NOT_SERVING with no policies in force
// or with the limiter unhealthy, SERVING otherwise; FollowHealth returns
// when its context ends.
func TestFollowHealth(t *testing.T) {
	hs := health.NewServer()
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(l) }()
	defer gs.Stop()
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	status := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return healthpb.HealthCheckResponse_UNKNOWN
		}
		return resp.GetStatus()
	}
	both := func(want healthpb.HealthCheckResponse_ServingStatus) func() bool {
		return func() bool { return status("") == want && status(ServiceName) == want }
	}

	svc := NewService(Options{})
	var limiterOK atomic.Bool
	limiterOK.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.FollowHealth(ctx, hs, func() (bool, map[string]any) { return limiterOK.Load(), nil }, time.Millisecond)
	}()

	testkit.Eventually(t, "NOT_SERVING with no policies", both(healthpb.HealthCheckResponse_NOT_SERVING))
	svc.SetSnapshot(compile(t, testPolicy))
	testkit.Eventually(t, "SERVING once policies are in force", both(healthpb.HealthCheckResponse_SERVING))
	limiterOK.Store(false)
	testkit.Eventually(t, "NOT_SERVING while the limiter is unhealthy", both(healthpb.HealthCheckResponse_NOT_SERVING))
	limiterOK.Store(true)
	testkit.Eventually(t, "SERVING again", both(healthpb.HealthCheckResponse_SERVING))
	cancel()
	testkit.Receive(t, "FollowHealth to return after its context ended", done)
}
