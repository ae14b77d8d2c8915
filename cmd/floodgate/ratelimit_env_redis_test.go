package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// Each Redis deployment, described as envoyproxy/ratelimit's variables
// describe it, is where bare `floodgate` counts: one request makes one
// counter on the Redis behind it.
func TestEnvoyproxyRedisEnvironments(t *testing.T) {
	tests := map[string]func(t *testing.T) (env map[string]string, keys func(context.Context) int64){
		"sentinel with two sentinels": func(t *testing.T) (map[string]string, func(context.Context) int64) {
			master := testserver.Redis(t)
			s1, s2 := testserver.RedisSentinel(t, master), testserver.RedisSentinel(t, master)
			return map[string]string{"REDIS_SOCKET_TYPE": "tcp", "REDIS_TYPE": "SENTINEL",
					"REDIS_URL": testserver.SentinelMaster + "," + s1.Addr + "," + s2.Addr},
				func(ctx context.Context) int64 { return dbSize(ctx, t, master.Addr) }
		},
		"cluster of three": func(t *testing.T) (map[string]string, func(context.Context) int64) {
			nodes := testserver.RedisCluster(t, 3)
			addrs := make([]string, len(nodes))
			for i, n := range nodes {
				addrs[i] = n.Addr
			}
			return map[string]string{"REDIS_SOCKET_TYPE": "tcp", "REDIS_TYPE": "cluster", "REDIS_URL": strings.Join(addrs, ",")},
				func(ctx context.Context) int64 {
					var n int64
					for _, a := range addrs {
						n += dbSize(ctx, t, a)
					}
					return n
				}
		},
		// REDIS_SOCKET_TYPE's default is unix.
		"unix socket with a password": func(t *testing.T) (map[string]string, func(context.Context) int64) {
			srv, sock := testserver.RedisUnix(t, "--requirepass", "p@ss/word")
			return map[string]string{"REDIS_URL": sock, "REDIS_AUTH": "p@ss/word"},
				func(ctx context.Context) int64 { return dbSizeAuth(ctx, t, srv.Addr, "", "p@ss/word") }
		},
		"ACL user": func(t *testing.T) (map[string]string, func(context.Context) int64) {
			srv := testserver.Redis(t, "--user", "default", "off", "--user", "limiter", "on", ">s3cret", "~*", "+@all")
			return map[string]string{"REDIS_SOCKET_TYPE": "tcp", "REDIS_URL": srv.Addr, "REDIS_AUTH": "limiter:s3cret"},
				func(ctx context.Context) int64 { return dbSizeAuth(ctx, t, srv.Addr, "limiter", "s3cret") }
		},
		"TLS with a client certificate": func(t *testing.T) (map[string]string, func(context.Context) int64) {
			srv, pki := testserver.RedisMutualTLS(t)
			return map[string]string{"REDIS_SOCKET_TYPE": "tcp", "REDIS_URL": srv.Addr, "REDIS_TLS": "true",
					"REDIS_TLS_CACERT": pki.CA, "REDIS_TLS_CLIENT_CERT": pki.ClientCert, "REDIS_TLS_CLIENT_KEY": pki.ClientKey},
				func(ctx context.Context) int64 {
					opt, err := redis.ParseURL("rediss://" + srv.Addr)
					if err != nil {
						t.Fatal(err)
					}
					pair, err := tls.X509KeyPair(pki.ClientCertPEM, pki.ClientKeyPEM)
					if err != nil {
						t.Fatal(err)
					}
					roots := x509.NewCertPool()
					roots.AppendCertsFromPEM(pki.CAPEM)
					opt.TLSConfig = &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}
					c := redis.NewClient(opt)
					defer c.Close()
					n, err := c.DBSize(ctx).Result()
					if err != nil {
						t.Fatalf("DBSIZE over TLS: %v", err)
					}
					return n
				}
		},
	}
	for name, start := range tests {
		t.Run(name, func(t *testing.T) {
			env, keys := start(t)
			grpcAddr := startBareWithEnv(t, env).grpc
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := rlsv3.NewRateLimitServiceClient(rlsConn(t, grpcAddr)).ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{
				Domain: "rl", Descriptors: []*ratelimitv3.RateLimitDescriptor{{Entries: []*ratelimitv3.RateLimitDescriptor_Entry{
					{Key: "source_cluster", Value: "proxy"}, {Key: "destination_cluster", Value: "mock"}}}}})
			if err != nil || resp.GetOverallCode() != rlsv3.RateLimitResponse_OK {
				t.Fatalf("ShouldRateLimit: %v %v", resp.GetOverallCode(), err)
			}
			if n := keys(ctx); n != 1 {
				t.Fatalf("%d keys behind %v, want the request's one counter", n, env)
			}
		})
	}
}

// bareAddrs are the listeners of a bare floodgate.
type bareAddrs struct{ grpc, http, debug string }

// startBareWithEnv runs bare `floodgate` with env (and envoyproxyPolicy
// below RUNTIME_ROOT, loopback listeners, statsd off unless env says
// otherwise) until the test ends, and returns once it is healthy.
func startBareWithEnv(t *testing.T, env map[string]string) bareAddrs {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "ratelimit", "config")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example"), []byte(envoyproxyPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	port := func() string { return fmt.Sprint(testserver.FreePort(t)) }
	httpPort, grpcPort, debugPort := port(), port(), port()
	base := map[string]string{"USE_STATSD": "false", "LOG_LEVEL": "warn", "RUNTIME_ROOT": root, "RUNTIME_SUBDIRECTORY": "ratelimit",
		"HOST": "127.0.0.1", "PORT": httpPort, "GRPC_HOST": "127.0.0.1", "GRPC_PORT": grpcPort,
		"DEBUG_HOST": "127.0.0.1", "DEBUG_PORT": debugPort}
	// A first dial that is slow (a TLS handshake under the race detector)
	// must be waited for, not answered by --on-store-down.
	base["FLOODGATE_STORE_TIMEOUT"] = "5s"
	for k, v := range base {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if code := testkit.Receive(t, "floodgate to stop", done); code != 0 {
			t.Errorf("floodgate exited %d", code)
		}
	})
	a := bareAddrs{grpc: "127.0.0.1:" + grpcPort, http: "127.0.0.1:" + httpPort, debug: "127.0.0.1:" + debugPort}
	waitHTTP(t, "http://"+a.http+"/healthcheck")
	return a
}

func dbSizeAuth(ctx context.Context, t *testing.T, addr, user, pass string) int64 {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: pass})
	defer c.Close()
	n, err := c.DBSize(ctx).Result()
	if err != nil {
		t.Fatalf("DBSIZE %s: %v", addr, err)
	}
	return n
}
