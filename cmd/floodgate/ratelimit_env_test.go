package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// envoyproxyPolicy is in envoyproxy/ratelimit's format, as its
// examples/ratelimit/config holds it.
const envoyproxyPolicy = `domain: rl
descriptors:
  - key: source_cluster
    value: proxy
    descriptors:
      - key: destination_cluster
        value: mock
        rate_limit:
          unit: minute
          requests_per_unit: 2
`

// statsdTCP collects the lines sent to a statsd TCP listener.
type statsdTCP struct {
	addr  string
	mu    sync.Mutex
	lines []string
}

func listenStatsdTCP(t *testing.T) *statsdTCP {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &statsdTCP{addr: lis.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { lis.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				context.AfterFunc(t.Context(), func() { c.Close() })
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					s.mu.Lock()
					s.lines = append(s.lines, sc.Text())
					s.mu.Unlock()
				}
			}()
		}
	}()
	return s
}

func (s *statsdTCP) has(prefix string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// The environment of envoyproxy/ratelimit's docker-compose example, with
// loopback addresses, starts bare `floodgate` in exact mode on the Redis
// or memcached it names, with its policies, its three listeners and its
// statsd over TCP; the counter keys are envoyproxy/ratelimit's.
func TestBareFloodgateTakesEnvoyproxyEnvironment(t *testing.T) {
	for _, backend := range []string{"redis", "memcache"} {
		t.Run(backend, func(t *testing.T) {
			statsd := listenStatsdTCP(t)
			statsdHost, statsdPort, _ := net.SplitHostPort(statsd.addr)
			// envoyproxy/ratelimit's docker-compose.yml, on loopback.
			env := map[string]string{
				"USE_STATSD": "true", "STATSD_HOST": statsdHost, "STATSD_PORT": statsdPort, "STATS_FLUSH_INTERVAL": "100ms",
				"RUNTIME_WATCH_ROOT": "false", "CONFIG_TYPE": "FILE", "CONFIG_GRPC_XDS_NODE_ID": "test-node-id",
			}
			var countedIn func() bool
			switch backend {
			case "redis":
				rds := testserver.Redis(t)
				env["REDIS_SOCKET_TYPE"], env["REDIS_URL"] = "tcp", rds.Addr
				rc := redis.NewClient(&redis.Options{Addr: rds.Addr})
				t.Cleanup(func() { rc.Close() })
				countedIn = func() bool {
					window := time.Now().Unix() / 60 * 60
					n, err := rc.Get(context.Background(), fmt.Sprintf("rl_source_cluster_proxy_destination_cluster_mock_%d", window)).Int()
					return err == nil && n == 3
				}
			case "memcache":
				mc := testserver.Memcached(t)
				env["BACKEND_TYPE"], env["MEMCACHE_HOST_PORT"] = "memcache", mc.Addr
			}
			addrs := startBareWithEnv(t, env)

			rls := rlsv3.NewRateLimitServiceClient(rlsConn(t, addrs.grpc))
			req := &rlsv3.RateLimitRequest{Domain: "rl", Descriptors: []*ratelimitv3.RateLimitDescriptor{{Entries: []*ratelimitv3.RateLimitDescriptor_Entry{
				{Key: "source_cluster", Value: "proxy"}, {Key: "destination_cluster", Value: "mock"}}}}}
			// The three calls and the key check fall in one minute window.
			if left := time.Minute - time.Duration(time.Now().UnixNano())%time.Minute; left < 2*time.Second {
				time.Sleep(left)
			}
			var codes []string
			for range 3 {
				resp, err := rls.ShouldRateLimit(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				codes = append(codes, resp.GetOverallCode().String())
			}
			if got := strings.Join(codes, " "); got != "OK OK OVER_LIMIT" {
				t.Fatalf("answers %s, want OK OK OVER_LIMIT (2 per minute)", got)
			}
			if countedIn != nil && !countedIn() {
				t.Error("the counter is not under envoyproxy/ratelimit's key in Redis")
			}
			if code := httpStatus(t, "http://"+addrs.debug+"/stats"); code != 200 {
				t.Errorf("debug /stats: %d", code)
			}
			// /rlconfig on the debug port, where envoyproxy/ratelimit has it.
			if body := getBody(t, "http://"+addrs.debug+"/rlconfig"); !strings.Contains(body, "rl.source_cluster_proxy.destination_cluster_mock: unit=MINUTE requests_per_unit=2") {
				t.Errorf("debug /rlconfig: %q", body)
			}
			testkit.Eventually(t, "the over-limit stat on statsd over TCP", func() bool {
				return statsd.has("ratelimit.service.rate_limit.rl.source_cluster_proxy.destination_cluster_mock.over_limit:1|c")
			})
		})
	}
}

// A flag on the command line or a FLOODGATE_* variable wins over
// envoyproxy/ratelimit's variable, and every flag the environment can set
// is one of serve's.
func TestRatelimitEnvPrecedence(t *testing.T) {
	env := map[string]string{
		"PORT": "9000", "GRPC_PORT": "9001", "REDIS_SOCKET_TYPE": "tcp", "REDIS_URL": "r:6379", "LOG_LEVEL": "debug",
		"FLOODGATE_LOG_LEVEL": "error",
		// Every variable that sets a flag, so that each flag is checked.
		"REDIS_PERSECOND": "true", "REDIS_PERSECOND_SOCKET_TYPE": "tcp", "REDIS_PERSECOND_URL": "r2:6379",
		"GRPC_SERVER_USE_TLS": "true", "GRPC_SERVER_TLS_CERT": "/c", "GRPC_SERVER_TLS_KEY": "/k", "GRPC_CLIENT_TLS_CACERT": "/ca", "GRPC_CLIENT_TLS_SAN": "san",
		"SHADOW_MODE": "true", "QUOTA_MODE": "true", "RESPONSE_DYNAMIC_METADATA": "true", "STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT": "true",
		"LIMIT_RESPONSE_HEADERS_ENABLED": "true", "LIMIT_LIMIT_HEADER": "L", "LIMIT_REMAINING_HEADER": "R", "LIMIT_RESET_HEADER": "S",
		"CACHE_KEY_PREFIX": "p_", "NEAR_LIMIT_RATIO": "0.5", "MERGE_DOMAIN_CONFIG": "true", "FORCE_START_WITHOUT_INITIAL_CONFIG": "true",
		"HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED": "true", "EXTRA_TAGS": "a:b", "STATS_FLUSH_INTERVAL": "1s",
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	for k, v := range env {
		if strings.HasPrefix(k, "FLOODGATE_") {
			t.Setenv(k, v)
		}
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	f.env.lookup = lookup
	if err := parseFlags(fs, []string{"--http-addr", "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.env.apply(fs); err != nil {
		t.Fatal(err)
	}
	got := func(name string) string { return fs.Lookup(name).Value.String() }
	for name, want := range map[string]string{
		"http-addr": "127.0.0.1:1", "log-level": "error", // the flag, FLOODGATE_*
		"grpc-addr": "0.0.0.0:9001", "mode": "exact", "redis": "redis://r:6379?dial_timeout=10s&pool_size=10", "debug-addr": "0.0.0.0:6070",
		"key-prefix": "p_", "shadow-mode": "true", "tls-client-san": "san",
	} {
		if got(name) != want {
			t.Errorf("--%s = %q, want %q", name, got(name), want)
		}
	}
	// Those the environment could not set because they were given.
	var kept []string
	for _, s := range f.env.kept {
		kept = append(kept, s.Flag)
	}
	if strings.Join(kept, ",") != "http-addr,log-level" {
		t.Errorf("kept %v, want http-addr and log-level", kept)
	}

	// --ratelimit-env off reads none of it.
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	f = serveFlags{}
	f.register(fs)
	f.env.lookup = lookup
	if err := parseFlags(fs, []string{"--ratelimit-env", "off"}); err != nil {
		t.Fatal(err)
	}
	if err := f.env.apply(fs); err != nil || f.mode != "async" || f.rls.grpcAddr != "127.0.0.1:8081" {
		t.Errorf("--ratelimit-env off: %v, mode %s, grpc %s", err, f.mode, f.rls.grpcAddr)
	}
}
