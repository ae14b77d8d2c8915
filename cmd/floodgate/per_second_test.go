package main

import (
	"context"
	"strings"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testserver"
)

// `serve --mode exact --redis-per-second`: the counter of a limit with unit
// second lands in the per-second Redis, the others in --redis, as with
// envoyproxy/ratelimit's REDIS_PERSECOND.
func TestServeExactPerSecondRedis(t *testing.T) {
	main, perSecond := testserver.Redis(t), testserver.Redis(t)
	addr, _ := startServe(t, "--mode", "exact", "--redis", "redis://"+main.Addr, "--redis-per-second", "redis://"+perSecond.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	entry := func(k, v string) *ratelimitv3.RateLimitDescriptor {
		return &ratelimitv3.RateLimitDescriptor{Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: k, Value: v}}}
	}
	// The built-in example policies: remote_address per minute, api_key per second.
	resp, err := rlsv3.NewRateLimitServiceClient(rlsConn(t, addr)).ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{
		Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{entry("remote_address", "10.0.0.1"), entry("api_key", "k1")}})
	if err != nil || resp.GetOverallCode() != rlsv3.RateLimitResponse_OK {
		t.Fatalf("ShouldRateLimit: %v %v", resp.GetOverallCode(), err)
	}
	keys := func(s *testserver.Server) string {
		c := redis.NewClient(&redis.Options{Addr: s.Addr})
		defer c.Close()
		return strings.Join(c.Keys(ctx, "*").Val(), " ")
	}
	if got := keys(perSecond); !strings.Contains(got, "api_key_k1") || strings.Contains(got, "remote_address") {
		t.Errorf("per-second Redis holds %q, want the api_key counter alone", got)
	}
	if got := keys(main); !strings.Contains(got, "remote_address_10.0.0.1") || strings.Contains(got, "api_key") {
		t.Errorf("main Redis holds %q, want the remote_address counter alone", got)
	}
}

func TestServePerSecondRedisNeedsExactMode(t *testing.T) {
	for _, args := range [][]string{
		{"--mode", "async", "--redis", "redis://127.0.0.1:1", "--redis-per-second", "redis://127.0.0.1:2"},
		{"--mode", "exact", "--redis-per-second", "redis://127.0.0.1:2"},
	} {
		err := runServe(context.Background(), append(args, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "warn"))
		if err == nil || !strings.Contains(err.Error(), "--redis-per-second") {
			t.Errorf("%v: %v, want an error naming --redis-per-second", args, err)
		}
	}
}
