package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --quota-mode reaches the service: a descriptor over its limit is answered
// OK, as envoyproxy/ratelimit's QUOTA_MODE answers it.
func TestServeQuotaModeFlag(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte("domain: shop\ndescriptors:\n  - key: cart\n    rate_limit: {unit: hour, requests_per_unit: 0}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "overall: OVER_LIMIT"},
		{[]string{"--quota-mode"}, "overall: OK"},
	} {
		grpcAddr, stop := startServe(t, append([]string{"--config", dir}, tc.args...)...)
		var out bytes.Buffer
		if err := clientTo(context.Background(), []string{"--addr", grpcAddr, "--domain", "shop", "--descriptor", "cart=c"}, &out); err != nil {
			t.Fatalf("client: %v", err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("serve %v: %q, want %q", tc.args, out.String(), tc.want)
		}
		stop()
	}
}

// --stop-increment-over-limit concerns exact mode alone; elsewhere it is an
// error that names it.
func TestStopIncrementFlagOutsideExactMode(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"rls", "--engine", "127.0.0.1:1", "--redis", "redis://127.0.0.1:1", "--stop-increment-over-limit"},
		{"serve", "--mode", "async", "--stop-increment-over-limit", "--grpc-addr", "127.0.0.1:0", "--http-addr", ""},
	} {
		var err error
		if args[0] == "rls" {
			err = runRLS(ctx, args[1:])
		} else {
			err = runServe(ctx, args[1:])
		}
		if err == nil || !strings.Contains(err.Error(), "--stop-increment-over-limit") {
			t.Errorf("%v: err = %v, want it to name --stop-increment-over-limit", args, err)
		}
	}
}
