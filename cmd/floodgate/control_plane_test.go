package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// TestControlPlaneFeedsServe wires the two commands as a user would: a
// policy PUT through the admin API reaches an RLS that takes its policies
// over xDS.
func TestControlPlaneFeedsServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)) }
	cpGRPC, cpHTTP, rlsGRPC, rlsHTTP := addr(), addr(), addr(), addr()
	store := "file:" + filepath.Join(t.TempDir(), "policies.json")
	stopped := make(chan int, 2)
	go func() {
		stopped <- run(ctx, []string{"control-plane", "--grpc-addr", cpGRPC, "--http-addr", cpHTTP,
			"--store", store, "--admin-token", "s3cret", "--log-level", "warn"})
	}()
	waitHTTP(t, "http://"+cpHTTP+"/v1/status")
	go func() {
		stopped <- run(ctx, []string{"serve", "--mode", "exact", "--xds", cpGRPC, "--node-id", "rls-1", "--xds-wait", "100ms",
			"--grpc-addr", rlsGRPC, "--http-addr", rlsHTTP, "--log-level", "warn"})
	}()
	// No domain in force yet: the RLS answers, not healthy.
	testkit.Eventually(t, "the RLS to answer 500 with no policies", func() bool {
		return httpStatus(t, "http://"+rlsHTTP+"/healthcheck") == http.StatusInternalServerError
	})

	put := func(token, body string) int {
		req, _ := http.NewRequest("PUT", "http://"+cpHTTP+"/v1/policies/shop", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	policyYAML := "domain: shop\ndescriptors:\n  - key: cart\n    rate_limit: {unit: minute, requests_per_unit: 1}\n"
	if code := put("wrong", policyYAML); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Fatalf("PUT with a wrong token: %d", code)
	}
	if code := put("s3cret", policyYAML); code/100 != 2 {
		t.Fatalf("PUT: %d", code)
	}
	args := []string{"--addr", rlsGRPC, "--domain", "shop", "--descriptor", "cart=c1"}
	var out bytes.Buffer
	testkit.Eventually(t, "the policy to reach the RLS", func() bool {
		out.Reset()
		if err := clientTo(ctx, args, &out); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(out.String(), "limit 1/MINUTE")
	})
	waitHTTP(t, "http://"+rlsHTTP+"/healthcheck")
	out.Reset()
	clientTo(ctx, args, &out)
	if !strings.Contains(out.String(), "overall: OVER_LIMIT") {
		t.Fatalf("second call:\n%s", out.String())
	}
	cancel()
	waitExits(t, stopped, 2)
}
