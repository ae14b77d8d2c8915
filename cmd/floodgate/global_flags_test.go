package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testserver"
)

// Every role takes --datacenter; an engine's --global-redis needs it.
func TestDatacenterFlagOnEveryRole(t *testing.T) {
	for name, register := range map[string]func(*flag.FlagSet){
		"engine":        func(fs *flag.FlagSet) { (&engineFlags{}).register(fs) },
		"rls":           func(fs *flag.FlagSet) { (&rlsFlags{}).register(fs) },
		"serve":         func(fs *flag.FlagSet) { (&serveFlags{}).register(fs) },
		"control-plane": func(fs *flag.FlagSet) { (&controlPlaneFlags{}).register(fs) },
	} {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		register(fs)
		if err := fs.Parse([]string{"--datacenter", "eu-west"}); err != nil {
			t.Errorf("%s --datacenter: %v", name, err)
		}
	}
	for _, name := range []string{"engine", "serve"} {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		if name == "engine" {
			(&engineFlags{}).register(fs)
		} else {
			(&serveFlags{}).register(fs)
		}
		if fs.Lookup("global-redis") == nil {
			t.Errorf("%s has no --global-redis", name)
		}
	}
}

func TestGlobalRedisNeedsDatacenter(t *testing.T) {
	srv := testserver.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := runEngine(ctx, []string{"--redis", "redis://" + srv.Addr, "--global-redis", "redis://" + srv.Addr + "/1",
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "--global-redis needs --datacenter") {
		t.Errorf("engine with --global-redis and no --datacenter: %v", err)
	}
}

// An engine with --global-redis and --datacenter shows its link to the
// global tier on /healthcheck and /v1/global; a replica takes --datacenter.
func TestEngineWithGlobalTier(t *testing.T) {
	local, global := testserver.Redis(t), testserver.Redis(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "g.yaml"), []byte("domain: g\ndescriptors:\n  - key: user\n    rate_limit: {unit: hour, requests_per_unit: 100, scope: global}\n"), 0o644)
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)) }
	engGRPC, engHTTP, rlsGRPC, rlsHTTP := addr(), addr(), addr(), addr()
	localURL := "redis://" + local.Addr + "/0"
	ctx, cancel := context.WithCancel(context.Background())
	exits := make(chan int, 2)
	t.Cleanup(func() {
		cancel()
		<-exits
		<-exits
	})
	go func() {
		exits <- run(ctx, []string{"engine", "--grpc-addr", engGRPC, "--http-addr", engHTTP, "--redis", localURL,
			"--datacenter", "eu", "--global-redis", "redis://" + global.Addr + "/0", "--config", dir, "--log-level", "warn"})
	}()
	go func() {
		exits <- run(ctx, []string{"rls", "--datacenter", "eu", "--engine", engGRPC, "--redis", localURL, "--config", dir,
			"--grpc-addr", rlsGRPC, "--http-addr", rlsHTTP, "--log-level", "warn"})
	}()
	waitHTTP(t, "http://"+engHTTP+"/healthcheck")
	waitHTTP(t, "http://"+rlsHTTP+"/healthcheck")
	body := httpBody(t, "http://"+engHTTP+"/healthcheck")
	if !strings.Contains(body, "datacenter eu connected") {
		t.Errorf("/healthcheck: %s", body)
	}
	var s struct {
		Datacenter string `json:"datacenter"`
		Up         bool   `json:"up"`
	}
	if err := json.Unmarshal([]byte(httpBody(t, "http://"+engHTTP+"/v1/global")), &s); err != nil || s.Datacenter != "eu" || !s.Up {
		t.Errorf("/v1/global: %+v (%v)", s, err)
	}
}

func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestBenchMultiDCFlags(t *testing.T) {
	f := benchFlags{set: map[string]bool{}, limit: 100, multiDC: multiDCFlags{datacenters: 3, wanDelays: "0s,fast"}}
	if err := runMultiDC(context.Background(), io.Discard, &f); err == nil || !strings.Contains(err.Error(), "--wan-delay") {
		t.Errorf("--wan-delay 0s,fast: %v", err)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	(&benchFlags{}).register(fs)
	for _, name := range []string{"datacenters", "wan-delay"} {
		if fs.Lookup(name) == nil {
			t.Errorf("bench has no --%s", name)
		}
	}
}
