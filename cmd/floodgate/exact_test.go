package main

import (
	"context"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// `serve --mode exact --on-store-down deny` with its Redis stopped denies,
// reports NOT_SERVING, and serves again by itself once Redis is back.
func TestServeExactStoreDown(t *testing.T) {
	rds := testserver.Redis(t)
	addr, _ := startServe(t, "--mode", "exact", "--redis", "redis://"+rds.Addr+"/0?dial_timeout=200ms",
		"--on-store-down", "deny")
	cc := rlsConn(t, addr)
	rls, hc := rlsv3.NewRateLimitServiceClient(cc), healthpb.NewHealthClient(cc)
	call := func() (rlsv3.RateLimitResponse_Code, error) {
		resp, err := rls.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{Domain: "api",
			Descriptors: []*ratelimitv3.RateLimitDescriptor{{Entries: []*ratelimitv3.RateLimitDescriptor_Entry{
				{Key: "remote_address", Value: "10.9.9.9"}}}}})
		return resp.GetOverallCode(), err
	}
	serving := func() bool {
		r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
	}
	if code, err := call(); err != nil || code != rlsv3.RateLimitResponse_OK {
		t.Fatalf("with Redis up: %v %v", code, err)
	}

	rds.Stop()
	testkit.Eventually(t, "NOT_SERVING while Redis is down", func() bool { return !serving() })
	if code, err := call(); err != nil || code != rlsv3.RateLimitResponse_OVER_LIMIT {
		t.Fatalf("with Redis down: %v %v, want OVER_LIMIT", code, err)
	}
	rds.Start()
	testkit.Eventually(t, "SERVING once Redis is back", serving)
	if code, err := call(); err != nil || code != rlsv3.RateLimitResponse_OK {
		t.Fatalf("after Redis came back: %v %v", code, err)
	}
}
