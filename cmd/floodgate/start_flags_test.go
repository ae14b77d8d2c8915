package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

const onePolicy = `domain: api
descriptors:
  - key: remote_address
    rate_limit: { unit: minute, requests_per_unit: 5 }
`

// httpStatus is the status of a GET of url, 0 if it failed.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// healthOf is the gRPC health status of name at addr, UNKNOWN on error.
func healthOf(t *testing.T, addr, name string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	r, err := healthpb.NewHealthClient(rlsConn(t, addr)).Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return r.GetStatus()
}

// A role started on an empty policy directory (told it may, or told to
// start without policies) is healthy only as the flags say, and every role
// becomes healthy once a policy file appears.
func TestHealthWithoutPolicies(t *testing.T) {
	for _, tc := range []struct {
		name          string
		args          []string
		healthyAtOnce bool
	}{
		{"allow-policy-drop", []string{"--allow-policy-drop"}, false},
		{"force-start", []string{"--force-start-without-config"}, true},
		{"force-start and healthy-with-one-config", []string{"--force-start-without-config", "--healthy-with-one-config"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			grpcAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
			httpAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
			startServeOn(t, grpcAddr, httpAddr, append([]string{"--config", dir, "--watch-interval", "10ms"}, tc.args...)...)
			want := map[bool]int{true: 200, false: 500}[tc.healthyAtOnce]
			testkit.Eventually(t, fmt.Sprintf("/healthcheck %d with no policy", want), func() bool {
				return httpStatus(t, "http://"+httpAddr+"/healthcheck") == want
			})
			wantGRPC := map[bool]healthpb.HealthCheckResponse_ServingStatus{true: healthpb.HealthCheckResponse_SERVING, false: healthpb.HealthCheckResponse_NOT_SERVING}[tc.healthyAtOnce]
			testkit.Eventually(t, "gRPC health of ratelimit to follow", func() bool { return healthOf(t, grpcAddr, "ratelimit") == wantGRPC })

			if err := os.WriteFile(filepath.Join(dir, "api.yaml"), []byte(onePolicy), 0o644); err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, "healthy once a policy is in force", func() bool {
				return httpStatus(t, "http://"+httpAddr+"/healthcheck") == 200 &&
					healthOf(t, grpcAddr, "ratelimit") == healthpb.HealthCheckResponse_SERVING
			})
		})
	}
}

// Without --force-start-without-config a role refuses an empty policy
// directory, as before.
func TestEmptyConfigRefusedWithoutForceStart(t *testing.T) {
	err := runServe(context.Background(), []string{"--config", t.TempDir(), "--grpc-addr", "127.0.0.1:0", "--http-addr", "", "--log-level", "error"})
	if err == nil {
		t.Fatal("serve started on an empty --config directory")
	}
}

// --force-start-without-config does not wait --xds-wait for a control
// plane that does not answer: the replica serves at once, healthy.
func TestForceStartDoesNotWaitForXDS(t *testing.T) {
	dead := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	_, httpAddr, _ := startServeHTTP(t, "--xds", dead, "--xds-wait", "1h", "--force-start-without-config")
	if got := httpStatus(t, "http://"+httpAddr+"/healthcheck"); got != 200 {
		t.Fatalf("/healthcheck %d, want 200", got)
	}
}

// Past --xds-wait with no answer from the control plane, a replica serves
// but is not healthy, on /healthcheck and on gRPC health.
func TestNoControlPlaneAnswerIsNotHealthy(t *testing.T) {
	dead := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	startServeOn(t, grpcAddr, httpAddr, "--xds", dead, "--xds-wait", "50ms")
	testkit.Eventually(t, "/healthcheck 500 and NOT_SERVING", func() bool {
		return httpStatus(t, "http://"+httpAddr+"/healthcheck") == http.StatusInternalServerError &&
			healthOf(t, grpcAddr, "ratelimit") == healthpb.HealthCheckResponse_NOT_SERVING &&
			healthOf(t, grpcAddr, "") == healthpb.HealthCheckResponse_NOT_SERVING
	})
}
