package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/policy"
)

func TestWatchFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "d.yaml")
	// Write then rename, so a poll never sees a half-written file.
	write := func(unit string) {
		body := "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: " + unit + ", requests_per_unit: 1}\n"
		tmp := filepath.Join(dir, ".d.yaml.tmp")
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	write("fortnight")
	if _, err := watchFiles(ctx, policy.WatchOptions{Paths: []string{dir}, Interval: 10 * time.Millisecond}, func(*policy.Snapshot) {}, func() {}); err == nil || !strings.Contains(err.Error(), "d.yaml") {
		t.Fatalf("start-up on a bad file: err = %v, want it refused naming the file", err)
	}

	write("minute")
	var applied, rejected atomic.Int32
	snap, err := watchFiles(ctx, policy.WatchOptions{Paths: []string{dir}, Interval: 10 * time.Millisecond},
		func(*policy.Snapshot) { applied.Add(1) }, func() { rejected.Add(1) })
	if err != nil || !snap.HasDomain("d") {
		t.Fatalf("start-up: %v", err)
	}
	if n := applied.Load(); n != 1 {
		t.Fatalf("start-up applied %d times, want once", n)
	}
	write("fortnight")
	testkit.Eventually(t, "a bad edit after start-up to be rejected", func() bool { return rejected.Load() > 0 })
	// From start-up to the rejection the watcher polled the unchanged files
	// as often as its ticker fired; none of those polls applied anything
	// (policy's watch tests show it poll by poll), and neither did the bad
	// edit.
	if n := applied.Load(); n != 1 {
		t.Fatalf("applied %d times, want only the start-up load", n)
	}
}

// Deleting the only policy file of a running serve keeps its limits in
// force and counts the refused reload; with --allow-policy-drop the
// deletion applies; an empty --config directory stops serve at start.
func TestServeRefusesPolicyDrop(t *testing.T) {
	const policyFile = "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 5}\n"
	for _, allow := range []bool{false, true} {
		dir := t.TempDir()
		file := filepath.Join(dir, "d.yaml")
		if err := os.WriteFile(file, []byte(policyFile), 0o644); err != nil {
			t.Fatal(err)
		}
		grpcAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
		httpAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		args := []string{"--config", dir, "--watch-interval", "10ms", "--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--log-level", "error"}
		if allow {
			args = append(args, "--allow-policy-drop")
		}
		go func() { done <- run(ctx, append([]string{"serve"}, args...)) }()
		waitHTTP(t, "http://"+httpAddr+"/healthcheck")

		ask := func() string {
			var out bytes.Buffer
			if err := clientTo(ctx, []string{"--addr", grpcAddr, "--domain", "d", "--descriptor", "k=v"}, &out); err != nil {
				t.Fatalf("client: %v", err)
			}
			return out.String()
		}
		if out := ask(); !strings.Contains(out, "limit 5/MINUTE") {
			t.Fatalf("before the deletion:\n%s", out)
		}
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		if allow {
			testkit.Eventually(t, "the deletion to apply", func() bool { return !strings.Contains(ask(), "limit 5/MINUTE") })
		} else {
			testkit.Eventually(t, "the deletion to be counted as a config_load_error", func() bool {
				return strings.Contains(metricsOf(t, httpAddr), "ratelimit_service_config_load_error 1")
			})
			if out := ask(); !strings.Contains(out, "limit 5/MINUTE") {
				t.Fatalf("after the refused deletion the limit is gone:\n%s", out)
			}
		}
		cancel()
		waitExits(t, done, 1)
	}

	empty := t.TempDir()
	err := runServe(context.Background(), []string{"--config", empty, "--grpc-addr", "127.0.0.1:0", "--http-addr", ""})
	if err == nil || !strings.Contains(err.Error(), empty+": no policy file") {
		t.Fatalf("serve on an empty directory: err = %v, want it to name %s", err, empty)
	}
}

func metricsOf(t *testing.T, httpAddr string) string {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	return body.String()
}
