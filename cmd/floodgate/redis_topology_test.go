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

// Sentinel and Cluster URLs with several seed hosts reach --redis whole:
// the commas of their host lists do not split them into separate URLs. A
// unix:// URL reaches Redis over its socket.
// Each case counts one request in exact mode and finds its counter on the
// Redis behind the URL.
func TestServeExactSeveralSeedHosts(t *testing.T) {
	tests := map[string]func(t *testing.T) (url string, keys func(context.Context) int64){
		"sentinel": func(t *testing.T) (string, func(context.Context) int64) {
			master := testserver.Redis(t)
			s1, s2 := testserver.RedisSentinel(t, master), testserver.RedisSentinel(t, master)
			return "redis+sentinel://" + s1.Addr + "," + s2.Addr + "/" + testserver.SentinelMaster,
				func(ctx context.Context) int64 { return dbSize(ctx, t, master.Addr) }
		},
		"unix socket": func(t *testing.T) (string, func(context.Context) int64) {
			srv, sock := testserver.RedisUnix(t)
			return "unix://" + sock + "?db=0", func(ctx context.Context) int64 { return dbSize(ctx, t, srv.Addr) }
		},
		"cluster": func(t *testing.T) (string, func(context.Context) int64) {
			nodes := testserver.RedisCluster(t, 3)
			addrs := make([]string, len(nodes))
			for i, n := range nodes {
				addrs[i] = n.Addr
			}
			return "redis+cluster://" + strings.Join(addrs, ","), func(ctx context.Context) int64 {
				var n int64
				for _, a := range addrs {
					n += dbSize(ctx, t, a)
				}
				return n
			}
		},
	}
	for name, start := range tests {
		t.Run(name, func(t *testing.T) {
			url, keys := start(t)
			addr, _ := startServe(t, "--mode", "exact", "--redis", url)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := rlsv3.NewRateLimitServiceClient(rlsConn(t, addr)).ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{
				Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{{Entries: []*ratelimitv3.RateLimitDescriptor_Entry{
					{Key: "remote_address", Value: "10.1.2.3"}}}}})
			if err != nil || resp.GetOverallCode() != rlsv3.RateLimitResponse_OK {
				t.Fatalf("ShouldRateLimit: %v %v", resp.GetOverallCode(), err)
			}
			if n := keys(ctx); n != 1 {
				t.Fatalf("%d keys behind %s, want the request's one counter", n, url)
			}
		})
	}
}

func dbSize(ctx context.Context, t *testing.T, addr string) int64 {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	n, err := c.DBSize(ctx).Result()
	if err != nil {
		t.Fatalf("DBSIZE %s: %v", addr, err)
	}
	return n
}
