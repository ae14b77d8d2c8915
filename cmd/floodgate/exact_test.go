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

// `serve --mode exact --on-store-down deny` with its counter store (Redis
// or memcached) stopped denies, reports NOT_SERVING on /healthcheck and on
// every gRPC health name, and serves again by itself once the store is
// back.
func TestServeExactStoreDown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) (*testserver.Server, []string)
	}{
		{"redis", func(t *testing.T) (*testserver.Server, []string) {
			rds := testserver.Redis(t)
			return rds, []string{"--redis", "redis://" + rds.Addr + "/0?dial_timeout=200ms"}
		}},
		{"memcached", func(t *testing.T) (*testserver.Server, []string) {
			mc := testserver.Memcached(t)
			return mc, []string{"--memcached", mc.Addr}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, args := tc.store(t)
			addr, httpAddr, _ := startServeHTTP(t, append(args, "--mode", "exact", "--on-store-down", "deny")...)
			testExactStoreDown(t, store, addr, httpAddr)
		})
	}
}

func testExactStoreDown(t *testing.T, store *testserver.Server, addr, httpAddr string) {
	cc := rlsConn(t, addr)
	rls, hc := rlsv3.NewRateLimitServiceClient(cc), healthpb.NewHealthClient(cc)
	call := func() (rlsv3.RateLimitResponse_Code, error) {
		resp, err := rls.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{Domain: "api",
			Descriptors: []*ratelimitv3.RateLimitDescriptor{{Entries: []*ratelimitv3.RateLimitDescriptor_Entry{
				{Key: "remote_address", Value: "10.9.9.9"}}}}})
		return resp.GetOverallCode(), err
	}
	// every is whether gRPC health of every name, and /healthcheck, say
	// serving.
	every := func(serving bool) func() bool {
		return func() bool {
			want := healthpb.HealthCheckResponse_NOT_SERVING
			if serving {
				want = healthpb.HealthCheckResponse_SERVING
			}
			for _, name := range []string{"", "ratelimit", "envoy.service.ratelimit.v3.RateLimitService"} {
				r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
				if err != nil || r.GetStatus() != want {
					return false
				}
			}
			return httpStatus(t, "http://"+httpAddr+"/healthcheck") == map[bool]int{true: 200, false: 500}[serving]
		}
	}
	if code, err := call(); err != nil || code != rlsv3.RateLimitResponse_OK {
		t.Fatalf("with the store up: %v %v", code, err)
	}

	store.Stop()
	testkit.Eventually(t, "NOT_SERVING while the store is down", every(false))
	if code, err := call(); err != nil || code != rlsv3.RateLimitResponse_OVER_LIMIT {
		t.Fatalf("with the store down: %v %v, want OVER_LIMIT", code, err)
	}
	store.Start()
	testkit.Eventually(t, "SERVING once the store is back", every(true))
	if code, err := call(); err != nil || code != rlsv3.RateLimitResponse_OK {
		t.Fatalf("after the store came back: %v %v", code, err)
	}
}
