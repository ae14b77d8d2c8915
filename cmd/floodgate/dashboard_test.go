package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	ratelimitcommon "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"

	"github.com/floodgate/floodgate/internal/globallink"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/xds"
)

const dashboardPolicy = `domain: shop
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 3}
`

// A key that crosses its limit in `serve` shows on the page, which loads
// and runs without a console error.
func TestDashboardShowsAThrottledKey(t *testing.T) {
	b := newBrowser(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(dashboardPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	grpcAddr, httpAddr := startDashboardServe(t, dir)
	b.run(t, "the page to load live", chromedp.Navigate("http://"+httpAddr+"/ui/"),
		chromedp.WaitVisible(`#live.live`), chromedp.WaitVisible(`#domains tr[data-domain="shop"]`))

	overLimit(t, grpcAddr, "alice")
	b.run(t, "alice's key in the throttled table", chromedp.WaitVisible(`#throttles tr[data-key*="user_alice"]`))
	b.run(t, "the shop's rates and the lease flow", chromedp.WaitVisible(`#counts tr[data-domain="shop"]`),
		chromedp.WaitVisible(`#flows tr[data-flow="tokens granted"]`))
	if granted := b.text(t, `#flows tr[data-flow="tokens granted"] td:nth-child(2)`); granted == "0" || granted == "" {
		t.Errorf("tokens granted %q: want the tokens the engine granted alice's key", granted)
	}
	b.noErrors(t)
}

// startDashboardServe runs serve in async mode on the policies in dir and
// returns its addresses.
func startDashboardServe(t *testing.T, dir string) (grpcAddr, httpAddr string) {
	t.Helper()
	grpcAddr, httpAddr, _ = startServeHTTP(t, "--config", dir)
	return grpcAddr, httpAddr
}

// startDashboardControlPlane runs the control plane with an admin token
// and one admin policy, and returns its addresses.
func startDashboardControlPlane(t *testing.T, args ...string) (grpcAddr, httpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)) }
	grpcAddr, httpAddr = addr(), addr()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"control-plane", "--grpc-addr", grpcAddr, "--http-addr", httpAddr,
			"--store", "memory:", "--admin-token", "s3cret", "--log-level", "error"}, args...))
	}()
	t.Cleanup(func() { cancel(); waitExits(t, done, 1) })
	waitHTTP(t, "http://"+httpAddr+"/v1/status")
	if code, body := putPolicy(t, httpAddr, "s3cret", dashboardPolicy); code/100 != 2 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	return grpcAddr, httpAddr
}

func putPolicy(t *testing.T, httpAddr, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", "http://"+httpAddr+"/v1/policies/shop", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("If-Match", "*")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// An xDS node's NACK shows on the control plane's page with its error.
func TestDashboardShowsANack(t *testing.T) {
	b := newBrowser(t)
	grpcAddr, httpAddr := startDashboardControlPlane(t)
	nackingNode(t, grpcAddr, "picky-rls")

	b.run(t, "the NACK on the page", chromedp.Navigate("http://"+httpAddr+"/ui/"),
		chromedp.WaitVisible(`#nodes tr[data-node="picky-rls"][data-nacked="true"]`))
	row := b.text(t, `#nodes tr[data-node="picky-rls"]`)
	if !strings.Contains(row, "NACK") || !strings.Contains(row, "picky-rls cannot apply shop") {
		t.Fatalf("node row %q: want NACK and the node's error", row)
	}
	b.noErrors(t)
}

// A bad policy typed into the page is refused with the admin API's own
// error, word for word, and the policy in force stays.
func TestDashboardEditShowsTheValidationError(t *testing.T) {
	b := newBrowser(t)
	_, httpAddr := startDashboardControlPlane(t)
	bad := "domain: shop\ndescriptors:\n  - key: user\n    rate_limit: {unit: fortnight, requests_per_unit: 3}\n"

	b.run(t, "the policy in the editor", chromedp.Navigate("http://"+httpAddr+"/ui/"),
		chromedp.Click(`#domains tr[data-domain="shop"] button.view`),
		chromedp.WaitVisible(`#policy-edit`),
		chromedp.SetValue(`#policy-yaml`, bad),
		chromedp.SendKeys(`#admin-token`, "s3cret"),
		chromedp.Click(`#policy-save`),
		chromedp.WaitVisible(`#policy-error`))
	shown := b.text(t, `#policy-error`)

	code, body := putPolicy(t, httpAddr, "s3cret", bad)
	var apiErr struct{ Error string }
	if err := json.Unmarshal([]byte(body), &apiErr); err != nil || code != http.StatusBadRequest {
		t.Fatalf("PUT of the bad policy: %d %s", code, body)
	}
	if shown != apiErr.Error {
		t.Fatalf("page shows %q, the API says %q", shown, apiErr.Error)
	}

	// A good edit is saved, and lands in the admin writes with who made it.
	good := "domain: shop\ndescriptors:\n  - key: user\n    rate_limit: {unit: minute, requests_per_unit: 4}\n"
	b.run(t, "a good edit saved and audited", chromedp.SetValue(`#policy-yaml`, good),
		chromedp.Click(`#policy-save`),
		chromedp.WaitVisible(`#policy-ok`),
		chromedp.WaitVisible(`#audit tr[data-domain="shop"][data-action="put"]`))
	if who := b.text(t, `#audit tr[data-domain="shop"] td.key`); !strings.HasPrefix(who, "token:") || strings.Contains(who, "s3cret") {
		t.Errorf("the audit row names the writer %q, want token:<hash> and never the token", who)
	}
	b.noErrors(t)
}

// nackingNode connects an xDS node that rejects the policies it is sent,
// with the error "<id> cannot apply shop", until t ends.
func nackingNode(t *testing.T, grpcAddr, id string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(rlsConn(t, grpcAddr)).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &core.Node{Id: id, Cluster: "edge"}
	if err := stream.Send(&discovery.DiscoveryRequest{Node: node, TypeUrl: xds.PolicyType}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	// The node rejects the version it was sent, as a client that cannot
	// apply it does.
	if err := stream.Send(&discovery.DiscoveryRequest{Node: node, TypeUrl: xds.PolicyType, ResponseNonce: resp.GetNonce(),
		ErrorDetail: &rpcstatus.Status{Code: 3, Message: id + " cannot apply shop"}}); err != nil {
		t.Fatal(err)
	}
}

// The control plane's page shows the fleet: a serve fed over xDS, acked,
// beside a node that NACKs, and the key the serve's engine throttled,
// heard on the decision bus.
func TestDashboardOnTheControlPlaneShowsTheFleet(t *testing.T) {
	b := newBrowser(t)
	rds := testserver.Redis(t)
	redisURL := "redis://" + rds.Addr + "/0"
	cpGRPC, cpHTTP := startDashboardControlPlane(t, "--decisions-redis", redisURL, "--global-redis", redisURL)
	grpcAddr, _, _ := startServeHTTPUnhealthy(t, "--xds", cpGRPC, "--node-id", "rls-1", "--xds-wait", "100ms", "--redis", redisURL)
	nackingNode(t, cpGRPC, "picky-rls")
	// A datacenter whose engine last reported a minute ago: stale, however
	// slowly the page loads.
	writeDatacenterReport(t, rds.Addr, globallink.Engine{ID: "engine-1", ReportedAt: time.Now().Add(-time.Minute),
		Link: globallink.Link{Datacenter: "eu", Up: true, Leases: []globallink.Lease{{Key: "shop_user_bob", Limit: 100, Held: 20, Used: 5}}}})

	b.run(t, "the page to load live", chromedp.Navigate("http://"+cpHTTP+"/ui/"), chromedp.WaitVisible(`#live.live`))
	overLimit(t, grpcAddr, "bob")
	b.run(t, "the fleet on the page",
		chromedp.WaitVisible(`#throttles tr[data-key*="user_bob"]`),
		chromedp.WaitVisible(`#nodes tr[data-node="rls-1"][data-nacked="false"]`),
		chromedp.WaitVisible(`#nodes tr[data-node="picky-rls"][data-nacked="true"]`),
		chromedp.Click(`#domains tr[data-domain="shop"] button.view`),
		chromedp.WaitVisible(`#policy-edit`))
	b.run(t, "the decision bus healthy", chromedp.WaitVisible(`#components tr[data-kind="bus"] td.good`))
	b.run(t, "the datacenter's link", chromedp.WaitVisible(`#datacenters tr[data-datacenter="eu"][data-link="stale"]`))
	if leases := b.text(t, `#datacenters tr[data-datacenter="eu"] td.key`); !strings.Contains(leases, "shop_user_bob: 5 / 20 of 100") {
		t.Errorf("eu's leases on the page: %q", leases)
	}
	b.screenshot(t)
	b.noErrors(t)
}

// overLimit calls ShouldRateLimit for user=value on the shop domain until
// it is OVER_LIMIT.
func overLimit(t *testing.T, grpcAddr, value string) {
	t.Helper()
	rls := rlsv3.NewRateLimitServiceClient(rlsConn(t, grpcAddr))
	req := &rlsv3.RateLimitRequest{Domain: "shop", Descriptors: []*ratelimitcommon.RateLimitDescriptor{
		{Entries: []*ratelimitcommon.RateLimitDescriptor_Entry{{Key: "user", Value: value}}}}}
	testkit.Eventually(t, value+" to be over the limit", func() bool {
		resp, err := rls.ShouldRateLimit(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetOverallCode() == rlsv3.RateLimitResponse_OVER_LIMIT
	})
}

// startServeHTTPUnhealthy is startServeHTTP for a serve that may not be
// healthy yet (its policies still to come over xDS): it waits for the
// HTTP address to answer at all.
func startServeHTTPUnhealthy(t *testing.T, args ...string) (grpcAddr, httpAddr string, stop func()) {
	t.Helper()
	grpcAddr = fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	httpAddr = fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	stop = startServeOn(t, grpcAddr, httpAddr, args...)
	testkit.Eventually(t, "serve's HTTP address to answer", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/ui/state")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return grpcAddr, httpAddr, stop
}
