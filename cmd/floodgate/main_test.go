package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

func TestFlagsReadEnvironment(t *testing.T) {
	t.Setenv("FLOODGATE_GRPC_ADDR", "127.0.0.1:9999")
	t.Setenv("FLOODGATE_CONFIG", "a.yaml,b")
	t.Setenv("FLOODGATE_HTTP_ADDR", "127.0.0.1:1")
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var f rlsFlags
	f.register(fs)
	if err := parseFlags(fs, []string{"--http-addr", "127.0.0.1:7"}); err != nil {
		t.Fatal(err)
	}
	if f.grpcAddr != "127.0.0.1:9999" {
		t.Errorf("grpc-addr = %q, want it from FLOODGATE_GRPC_ADDR", f.grpcAddr)
	}
	if f.httpAddr != "127.0.0.1:7" {
		t.Errorf("http-addr = %q, want the command line to win over the environment", f.httpAddr)
	}
	if got := f.policies.configs.items(); len(got) != 2 || got[1] != "b" {
		t.Errorf("config = %v, want [a.yaml b]", got)
	}
	t.Setenv("FLOODGATE_SHADOW_MODE", "maybe")
	fs = flag.NewFlagSet("x", flag.ContinueOnError)
	f = rlsFlags{}
	f.register(fs)
	if err := parseFlags(fs, nil); err == nil || !strings.Contains(err.Error(), "FLOODGATE_SHADOW_MODE") {
		t.Errorf("bad env value: err = %v, want it to name FLOODGATE_SHADOW_MODE", err)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1}\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("domain: e\ndescriptors:\n  - key: k\n    rate_limit: {unit: sec, requests_per_unit: 1}\n"), 0o644)

	var out, errs bytes.Buffer
	if err := checkConfig([]string{good}, &out, &errs); err != nil {
		t.Fatalf("good config: %v %s", err, errs.String())
	}
	if !strings.Contains(out.String(), "ok: 1 domains, 1 rules") {
		t.Errorf("summary = %q", out.String())
	}
	out.Reset()
	err := checkConfig([]string{good, bad}, &out, &errs)
	if !errors.Is(err, errCheckFailed) {
		t.Fatalf("bad config: err = %v, want a failed check", err)
	}
	if msg := errs.String(); !strings.Contains(msg, "bad.yaml:4") || !strings.Contains(msg, "sec") {
		t.Errorf("error output %q should name bad.yaml, line 4 and the unit", msg)
	}
	if code := run(context.Background(), []string{"check-config", bad}); code != 1 {
		t.Errorf("exit code for a bad config = %d, want 1", code)
	}
	if code := run(context.Background(), []string{"check-config", good}); code != 0 {
		t.Errorf("exit code for a good config = %d, want 0", code)
	}
	if code := run(context.Background(), []string{"no-such-command"}); code != 2 {
		t.Errorf("exit code for an unknown command = %d, want 2", code)
	}
}

// The example policies load, and the summary names each file's domain and
// counts its rules: every descriptor with a rate_limit, the unlimited one
// included (api: remote_address, api_key, api_key/path, the batch key and
// the login rule; tenants: the default, enterprise, legacy pool and shadow
// quota).
func TestCheckConfigOnExamples(t *testing.T) {
	var out, errs bytes.Buffer
	if err := checkConfig([]string{"../../examples/policies"}, &out, &errs); err != nil {
		t.Fatalf("examples: %v\n%s", err, errs.String())
	}
	want := `../../examples/policies/api.yaml: domain "api", 5 rules
../../examples/policies/tenants.yaml: domain "tenants", 4 rules
ok: 2 domains, 9 rules
`
	if got := out.String(); got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
	if errs.Len() != 0 {
		t.Errorf("error output on valid examples: %s", errs.String())
	}
}

// TestServeAndClient runs the default command (built-in examples, exact
// mode) and asks it with the client command, as a user would.
func TestServeAndClient(t *testing.T) {
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--log-level", "warn"})
	}()
	defer func() {
		cancel()
		waitExits(t, done, 1)
	}()
	waitHTTP(t, "http://"+httpAddr+"/healthcheck")

	var out bytes.Buffer
	args := []string{"--addr", grpcAddr, "--domain", "api", "--descriptor", "path=/v1/login,remote_address=10.0.0.9", "--hits", "10"}
	if err := clientTo(ctx, args, &out); err != nil {
		t.Fatalf("client: %v", err)
	}
	if !strings.Contains(out.String(), "overall: OK") || !strings.Contains(out.String(), "limit 10/MINUTE (login)  remaining 0") {
		t.Fatalf("first call:\n%s", out.String())
	}
	out.Reset()
	if err := clientTo(ctx, args, &out); err != nil {
		t.Fatalf("client: %v", err)
	}
	if !strings.Contains(out.String(), "overall: OVER_LIMIT") {
		t.Fatalf("second call:\n%s", out.String())
	}
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(body.String(), `ratelimit_service_rate_limit_over_limit{domain="api",key1="path_/v1/login",key2="remote_address"} 10`) {
		t.Errorf("/metrics lacks the login rule's over_limit:\n%s", body.String())
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	testkit.Eventually(t, url+" to answer 200", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitExits waits for n commands run with run to return on exits, and
// fails t if one exited non-zero or they do not all stop within the budget.
func waitExits(t *testing.T, exits <-chan int, n int) {
	t.Helper()
	for range n {
		if code := testkit.Receive(t, "a command to stop", exits); code != 0 {
			t.Errorf("a command exited %d", code)
		}
	}
}
