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
	"github.com/floodgate/floodgate/policy"
)

// gRPC health follows /healthcheck for "", the RLS's name and
// envoyproxy/ratelimit's "ratelimit": NOT_SERVING with no policies in
// force (none loaded, or a load with no domain) or with the limiter
// unhealthy, SERVING otherwise; FollowHealth returns when its context ends.
func TestFollowHealth(t *testing.T) {
	svc := NewService(Options{})
	var limiterOK atomic.Bool
	limiterOK.Store(true)
	all := followHealth(t, svc, func() (bool, map[string]any) { return limiterOK.Load(), nil })

	testkit.Eventually(t, "NOT_SERVING with no policies", all(healthpb.HealthCheckResponse_NOT_SERVING))
	svc.SetSnapshot(compile(t, testPolicy))
	testkit.Eventually(t, "SERVING once policies are in force", all(healthpb.HealthCheckResponse_SERVING))
	limiterOK.Store(false)
	testkit.Eventually(t, "NOT_SERVING while the limiter is unhealthy", all(healthpb.HealthCheckResponse_NOT_SERVING))
	limiterOK.Store(true)
	testkit.Eventually(t, "SERVING again", all(healthpb.HealthCheckResponse_SERVING))
	svc.SetSnapshot(emptySnapshot(t))
	testkit.Eventually(t, "NOT_SERVING once a load leaves no domain", all(healthpb.HealthCheckResponse_NOT_SERVING))
}

// With HealthyWithoutPolicies (FORCE_START_WITHOUT_INITIAL_CONFIG) the
// service is SERVING before any policy and with none, and still follows
// its limiter.
func TestFollowHealthWithoutPolicies(t *testing.T) {
	svc := NewService(Options{HealthyWithoutPolicies: true})
	var limiterOK atomic.Bool
	limiterOK.Store(true)
	all := followHealth(t, svc, func() (bool, map[string]any) { return limiterOK.Load(), nil })

	testkit.Eventually(t, "SERVING before any policy", all(healthpb.HealthCheckResponse_SERVING))
	svc.SetSnapshot(emptySnapshot(t))
	testkit.Eventually(t, "SERVING with no domain", all(healthpb.HealthCheckResponse_SERVING))
	limiterOK.Store(false)
	testkit.Eventually(t, "NOT_SERVING while the limiter is unhealthy", all(healthpb.HealthCheckResponse_NOT_SERVING))
}

func emptySnapshot(t *testing.T) *policy.Snapshot {
	t.Helper()
	snap, err := policy.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// followHealth serves svc's gRPC health, following h, on loopback until
// the test ends, and returns a check that every health name has a status.
func followHealth(t *testing.T, svc *Service, h Health) func(healthpb.HealthCheckResponse_ServingStatus) func() bool {
	t.Helper()
	hs := health.NewServer()
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.FollowHealth(ctx, hs, h, time.Millisecond)
	}()
	t.Cleanup(func() {
		cancel()
		testkit.Receive(t, "FollowHealth to return after its context ended", done)
	})
	client := healthpb.NewHealthClient(cc)
	return func(want healthpb.HealthCheckResponse_ServingStatus) func() bool {
		return func() bool {
			for _, name := range []string{"", ServiceName, "ratelimit"} {
				resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
				if err != nil || resp.GetStatus() != want {
					return false
				}
			}
			return true
		}
	}
}
