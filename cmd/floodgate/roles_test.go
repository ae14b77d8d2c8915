package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// TestEngineAndReplicas runs the multi-replica deployment of the README
// through the real commands: one engine, two `rls` replicas, one Redis.
// A key driven over its limit on one replica is refused by the other.
func TestEngineAndReplicas(t *testing.T) {
	redisSrv := testserver.Redis(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte("domain: shop\ndescriptors:\n  - key: cart\n    rate_limit: {unit: hour, requests_per_unit: 5}\n"), 0o644)
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)) }
	engGRPC, engHTTP := addr(), addr()
	redisURL := "redis://" + redisSrv.Addr + "/0"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exits := make(chan int, 3)
	go func() {
		exits <- run(ctx, []string{"engine", "--grpc-addr", engGRPC, "--http-addr", engHTTP, "--redis", redisURL,
			"--config", dir, "--log-level", "warn"})
	}()
	waitHTTP(t, "http://"+engHTTP+"/healthcheck")
	var replicas []string
	for range 2 {
		g, h := addr(), addr()
		go func() {
			exits <- run(ctx, []string{"rls", "--engine", engGRPC, "--redis", redisURL, "--config", dir,
				"--grpc-addr", g, "--http-addr", h, "--log-level", "warn"})
		}()
		waitHTTP(t, "http://"+h+"/healthcheck")
		replicas = append(replicas, g)
	}
	ask := func(replica string) string {
		var out bytes.Buffer
		if err := clientTo(ctx, []string{"--addr", replica, "--domain", "shop", "--descriptor", "cart=c9"}, &out); err != nil {
			t.Fatalf("client: %v", err)
		}
		return out.String()
	}
	for range 6 {
		ask(replicas[0])
	}
	// The engine counts the six hits, crosses 5 and tells every replica.
	testkit.Eventually(t, "the second replica to learn the key is over", func() bool {
		return strings.Contains(ask(replicas[1]), "overall: OVER_LIMIT")
	})
	cancel()
	waitExits(t, exits, 3)
}

func TestRoleFlagErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rls", "--redis", "redis://127.0.0.1:1"}, "--engine"},
		{[]string{"rls", "--engine", "127.0.0.1:1"}, "--redis"},
		{[]string{"engine"}, "--redis"},
		{[]string{"serve", "--mode", "fast"}, "--mode"},
		{[]string{"serve", "--mode", "exact", "--redis", "redis://a:1,redis://b:1"}, "one URL"},
		{[]string{"serve", "--mode", "exact", "--replicas", "0", "--grpc-addr", "127.0.0.1:0", "--http-addr", ""}, "--replicas"},
		{[]string{"rls", "--engine", "127.0.0.1:1", "--redis", "redis://127.0.0.1:1", "--on-engine-down", "maybe", "--grpc-addr", "127.0.0.1:0", "--http-addr", ""}, "--on-engine-down"},
	} {
		var err error
		switch tc.args[0] {
		case "rls":
			err = runRLS(ctx, tc.args[1:])
		case "engine":
			err = runEngine(ctx, tc.args[1:])
		default:
			err = runServe(ctx, tc.args[1:])
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to name %s", tc.args, err, tc.want)
		}
	}
}
