package main

import (
	"context"
	"flag"
	"io"
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
