package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// Every role's /metrics, after real requests, carries labelled series
// and passes the lint promtool runs (client_golang's), and promtool
// itself where it is installed. The engine and the replica serve it on
// --metrics-addr too.
func TestEveryRoleMetrics(t *testing.T) {
	redisSrv := testserver.Redis(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte("domain: shop\ndescriptors:\n  - key: cart\n    rate_limit: {unit: hour, requests_per_unit: 2}\n"), 0o644)
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)) }
	redisURL := "redis://" + redisSrv.Addr + "/0"
	engGRPC, engHTTP, engMetrics := addr(), addr(), addr()
	rlsGRPC, rlsHTTP, rlsMetrics := addr(), addr(), addr()
	cpGRPC, cpHTTP := addr(), addr()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exits := make(chan int, 3)
	start := func(args ...string) {
		go func() { exits <- run(ctx, append(args, "--log-level", "warn")) }()
	}
	start("engine", "--grpc-addr", engGRPC, "--http-addr", engHTTP, "--metrics-addr", engMetrics, "--redis", redisURL, "--config", dir)
	waitHTTP(t, "http://"+engHTTP+"/healthcheck")
	start("rls", "--engine", engGRPC, "--redis", redisURL, "--config", dir,
		"--grpc-addr", rlsGRPC, "--http-addr", rlsHTTP, "--metrics-addr", rlsMetrics)
	waitHTTP(t, "http://"+rlsHTTP+"/healthcheck")
	start("control-plane", "--grpc-addr", cpGRPC, "--http-addr", cpHTTP, "--store", "memory:", "--admin-token", "s3cret")
	waitHTTP(t, "http://"+cpHTTP+"/v1/status")
	_, serveHTTP, _ := startServeHTTP(t, "--config", dir)

	over := false
	for range 4 {
		var out bytes.Buffer
		if err := clientTo(ctx, []string{"--addr", rlsGRPC, "--domain", "shop", "--descriptor", "cart=c1"}, &out); err != nil {
			t.Fatalf("client: %v", err)
		}
		over = over || strings.Contains(out.String(), "OVER_LIMIT")
	}
	req, _ := http.NewRequest("PUT", "http://"+cpHTTP+"/v1/policies/books", strings.NewReader("domain: books\ndescriptors:\n  - key: isbn\n    rate_limit: {unit: minute, requests_per_unit: 1}\n"))
	req.Header.Set("Authorization", "Bearer s3cret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("PUT a policy: %v %v", resp, err)
	}

	rls := "http://" + rlsMetrics + "/metrics"
	wantSeries(t, "rls", rls,
		`ratelimit_service_total_requests{grpc_method="ShouldRateLimit"} 4`,
		`ratelimit_service_rate_limit_total_hits{domain="shop",key1="cart",key2=""} 4`,
		`ratelimit_service_response_time_seconds_count{grpc_method="ShouldRateLimit"} 4`,
		`ratelimit_service_config_load_success 1`,
		`floodgate_replica_engines_connected{stream="lease"} 1`,
		`go_goroutines `, `process_start_time_seconds `)
	scrapeLinted(t, "rls", rls)
	if over {
		wantSeries(t, "rls", rls, `ratelimit_service_rate_limit_over_limit{domain="shop",key1="cart",key2=""} `)
	}
	if same := scrapeLinted(t, "rls", "http://"+rlsHTTP+"/metrics"); !strings.Contains(same, "ratelimit_service_total_requests{") {
		t.Errorf("rls: the HTTP address's /metrics lacks the request counter:\n%s", same)
	}
	if code := httpStatus(t, "http://"+rlsMetrics+"/healthcheck"); code != http.StatusNotFound {
		t.Errorf("--metrics-addr serves /healthcheck: status %d, want 404", code)
	}
	engine := "http://" + engMetrics + "/metrics"
	wantSeries(t, "engine", engine, `floodgate_engine_streams{stream="lease"} 1`, `floodgate_engine_lease_grants_total `)
	scrapeLinted(t, "engine", engine)
	cp := "http://" + cpHTTP + "/metrics"
	wantSeries(t, "control-plane", cp, `floodgate_admin_writes_total{method="put",outcome="accepted"} 1`,
		`floodgate_xds_snapshots_total{outcome="updated"} `)
	scrapeLinted(t, "control-plane", cp)
	serve := "http://" + serveHTTP + "/metrics"
	wantSeries(t, "serve", serve, `ratelimit_service_config_load_success 1`, `floodgate_grpc_inflight 0`)
	scrapeLinted(t, "serve", serve)

	cancel()
	waitExits(t, exits, 3)
}

// scrapeLinted GETs a /metrics page and fails the test on any lint
// problem, client_golang's and promtool's.
func scrapeLinted(t *testing.T, role, url string) string {
	t.Helper()
	page := getBody(t, url)
	problems, err := promlint.New(strings.NewReader(page)).Lint()
	if err != nil {
		t.Fatalf("%s: /metrics does not parse: %v", role, err)
	}
	for _, p := range problems {
		t.Errorf("%s: lint: %s: %s", role, p.Metric, p.Text)
	}
	promtool(t, role, page, "check", "metrics")
	return page
}

// promtool runs promtool with stdin, failing the test on a non-zero exit;
// it is skipped, said once per call, where promtool is not installed.
func promtool(t *testing.T, what, stdin string, args ...string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Logf("%s: promtool not installed (Debian package prometheus): promtool %s skipped", what, strings.Join(args, " "))
		return
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: promtool %s: %v\n%s", what, strings.Join(args, " "), err, out)
		return
	}
	t.Logf("%s: promtool %s: ok %s", what, strings.Join(args, " "), strings.TrimSpace(string(out)))
}

// wantSeries waits for role's /metrics at url to hold every series (a
// gauge follows its stream, a lease grant comes after the first ask).
func wantSeries(t *testing.T, role, url string, series ...string) {
	t.Helper()
	var page string
	testkit.Eventually(t, role+"'s /metrics to hold "+strings.Join(series, ", "), func() bool {
		page = getBody(t, url)
		for _, s := range series {
			if !strings.Contains(page, s) {
				return false
			}
		}
		return true
	})
}
