package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// --debug-addr serves /stats (the role's stats by their names) and pprof
// on serve and on the control plane, and closes with the role.
func TestDebugListener(t *testing.T) {
	debug := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	_, stop := startServe(t, "--debug-addr", debug)
	if body := getBody(t, "http://"+debug+"/stats"); !strings.Contains(body, "\nratelimit.service.config_load_success: 1\n") {
		t.Errorf("serve /stats lacks config_load_success:\n%s", body)
	}
	if body := getBody(t, "http://"+debug+"/debug/pprof/"); !strings.Contains(body, "goroutine") {
		t.Errorf("serve /debug/pprof/: %.200s", body)
	}
	stop()
	testkit.Eventually(t, "the debug listener to close with serve", func() bool {
		_, err := http.Get("http://" + debug + "/stats")
		return err != nil
	})

	cpDebug := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	cpHTTP := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"control-plane", "--grpc-addr", fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)),
			"--http-addr", cpHTTP, "--store", "memory:", "--debug-addr", cpDebug, "--log-level", "warn"})
	}()
	defer func() { cancel(); waitExits(t, exited, 1) }()
	waitHTTP(t, "http://"+cpHTTP+"/healthz")
	testkit.Eventually(t, "the control plane's /stats", func() bool {
		body := getBody(t, "http://"+cpDebug+"/stats")
		return strings.Contains(body, "memstats: {") && strings.Contains(body, "\nxds.server.")
	})
}
