package ratelimitenv

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/redisconn"
)

func lookupIn(env map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// read returns the flags env sets, failing the test on an error.
func read(t *testing.T, env map[string]string) (map[string]string, *Env) {
	t.Helper()
	e, err := Read(lookupIn(env))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	flags := map[string]string{}
	for _, s := range e.Settings {
		if _, dup := flags[s.Flag]; dup {
			t.Errorf("--%s set twice", s.Flag)
		}
		flags[s.Flag] = s.Value
	}
	return flags, e
}

func note(e *Env, name string) (Note, bool) {
	i := slices.IndexFunc(e.Notes, func(n Note) bool { return n.Var == name })
	if i < 0 {
		return Note{}, false
	}
	return e.Notes[i], true
}

// The environment of envoyproxy/ratelimit's docker-compose.yml.
func TestComposeExample(t *testing.T) {
	flags, e := read(t, map[string]string{
		"USE_STATSD": "false", "LOG_LEVEL": "debug", "REDIS_SOCKET_TYPE": "tcp", "REDIS_URL": "redis:6379",
		"RUNTIME_ROOT": "/data", "RUNTIME_SUBDIRECTORY": "ratelimit", "MEMCACHE_HOST_PORT": "memcached:11211",
	})
	want := map[string]string{
		"mode": "exact", "http-addr": "0.0.0.0:8080", "grpc-addr": "0.0.0.0:8081", "debug-addr": "0.0.0.0:6070",
		"max-connection-age": "24h0m0s", "max-connection-age-grace": "1h0m0s",
		"log-level": "debug", "log-format": "text",
		"config": "/data/ratelimit/config", "config-all-files": "true", "config-dotfiles": "true",
		"redis": "redis://redis:6379?dial_timeout=10s&pool_size=10",
	}
	for k, v := range want {
		if flags[k] != v {
			t.Errorf("--%s = %q, want %q", k, flags[k], v)
		}
		delete(flags, k)
	}
	if len(flags) > 0 {
		t.Errorf("unexpected flags %v", flags)
	}
	// BACKEND_TYPE is redis, so the memcached address is not read.
	if n, ok := note(e, "MEMCACHE_HOST_PORT"); !ok || !n.Supported {
		t.Errorf("MEMCACHE_HOST_PORT note = %+v, %v; want a supported note", n, ok)
	}
}

func TestActive(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"HOST": "x", "LOG_LEVEL": "debug", "LOG_FORMAT": "json", "FLOODGATE_MODE": "exact"}, false},
		{map[string]string{"PORT": "8080"}, true},
		{map[string]string{"REDIS_URL": "r:6379"}, true},
		{map[string]string{"RUNTIME_ROOT": "/data"}, true},
	} {
		if got := Active(lookupIn(c.env)); got != c.want {
			t.Errorf("Active(%v) = %v, want %v", c.env, got, c.want)
		}
	}
}

// Every Redis deployment envoyproxy/ratelimit dials becomes a URL that
// Floodgate's parser reads back to the same servers, logins and TLS.
func TestRedisURLs(t *testing.T) {
	for _, c := range []struct {
		name  string
		env   map[string]string
		url   string
		shown string
		check func(t *testing.T, addrs []string, master, user, pass, sentinelPass string, pool int, tls bool)
	}{
		{
			name:  "default unix socket",
			env:   map[string]string{"REDIS_POOL_SIZE": "3"},
			url:   "unix:///var/run/nutcracker/ratelimit.sock?dial_timeout=10s&pool_size=3",
			shown: "unix:///var/run/nutcracker/ratelimit.sock?dial_timeout=10s&pool_size=3",
		},
		{
			name:  "sentinel with logins",
			env:   map[string]string{"REDIS_SOCKET_TYPE": "tcp", "REDIS_TYPE": "SENTINEL", "REDIS_URL": "mymaster, s1:26379,s2:26380", "REDIS_AUTH": "app:p@ss?w%rd", "REDIS_SENTINEL_AUTH": "sentpw"},
			url:   "redis+sentinel://app:p@ss%3Fw%25rd@s1:26379,s2:26380/mymaster?dial_timeout=10s&pool_size=10&sentinel_password=sentpw",
			shown: "redis+sentinel://app:xxxxx@s1:26379,s2:26380/mymaster?dial_timeout=10s&pool_size=10&sentinel_password=xxxxx",
			check: func(t *testing.T, addrs []string, master, user, pass, sentinelPass string, _ int, _ bool) {
				if master != "mymaster" || user != "app" || pass != "p@ss?w%rd" || sentinelPass != "sentpw" || !slices.Equal(addrs, []string{"s1:26379", "s2:26380"}) {
					t.Errorf("parsed %v %q %q %q %q", addrs, master, user, pass, sentinelPass)
				}
			},
		},
		{
			name:  "cluster over TLS with a client certificate",
			env:   map[string]string{"REDIS_SOCKET_TYPE": "tcp", "REDIS_TYPE": "cluster", "REDIS_URL": "a:7000,b:7001,c:7002", "REDIS_AUTH": "pw", "REDIS_TLS": "true", "REDIS_TLS_CACERT": "/ca.pem", "REDIS_TLS_CLIENT_CERT": "/c.pem", "REDIS_TLS_CLIENT_KEY": "/c.key", "REDIS_TLS_SKIP_HOSTNAME_VERIFICATION": "true", "REDIS_TIMEOUT": "2s"},
			url:   "rediss+cluster://:pw@a:7000,b:7001,c:7002?dial_timeout=2s&pool_size=10&tls_ca=%2Fca.pem&tls_cert=%2Fc.pem&tls_key=%2Fc.key&tls_skip_hostname_verification=true",
			shown: "rediss+cluster://:xxxxx@a:7000,b:7001,c:7002?dial_timeout=2s&pool_size=10&tls_ca=%2Fca.pem&tls_cert=%2Fc.pem&tls_key=%2Fc.key&tls_skip_hostname_verification=true",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := Read(lookupIn(c.env))
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(e.Settings, func(s Setting) bool { return s.Flag == "redis" })
			s := e.Settings[i]
			if s.Value != c.url || s.Shown != c.shown {
				t.Fatalf("--redis\n got %s\n     %s\nwant %s\n     %s", s.Value, s.Shown, c.url, c.shown)
			}
			if strings.HasPrefix(c.url, "rediss") {
				return // the TLS files do not exist; the parser opens them
			}
			opts, err := redisconn.ParseURL(s.Value)
			if err != nil {
				t.Fatalf("Floodgate does not parse it: %v", err)
			}
			if c.check != nil {
				c.check(t, opts.Addrs, opts.MasterName, opts.Username, opts.Password, opts.SentinelPassword, opts.PoolSize, opts.TLSConfig != nil)
			}
		})
	}
}

func TestPerSecondRedis(t *testing.T) {
	flags, e := read(t, map[string]string{"REDIS_SOCKET_TYPE": "tcp", "REDIS_URL": "main:6379", "REDIS_PERSECOND": "true",
		"REDIS_PERSECOND_SOCKET_TYPE": "tcp", "REDIS_PERSECOND_URL": "fast:6379", "REDIS_PERSECOND_AUTH": "x"})
	if got, want := flags["redis-per-second"], "redis://:x@fast:6379?dial_timeout=10s&pool_size=10"; got != want {
		t.Errorf("--redis-per-second = %q, want %q", got, want)
	}
	i := slices.IndexFunc(e.Settings, func(s Setting) bool { return s.Flag == "redis-per-second" })
	if from := e.Settings[i].From; !slices.Contains(from, "REDIS_PERSECOND_URL") || !slices.Contains(from, "REDIS_PERSECOND") {
		t.Errorf("From = %v", from)
	}
}

func TestMemcached(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"BACKEND_TYPE": "memcache", "MEMCACHE_HOST_PORT": "m1:11211, m2:11211"}, "memcached://m1:11211,m2:11211"},
		{map[string]string{"BACKEND_TYPE": "memcache", "MEMCACHE_SRV": "_memcache._tcp.example.com", "MEMCACHE_SRV_REFRESH": "30s"}, "memcached+srv://_memcache._tcp.example.com?refresh=30s"},
		{map[string]string{"BACKEND_TYPE": "memcache", "MEMCACHE_HOST_PORT": "m1:11211", "MEMCACHE_TLS": "true", "MEMCACHE_TLS_CACERT": "/ca.pem", "MEMCACHE_TLS_SKIP_HOSTNAME_VERIFICATION": "true"}, "memcacheds://m1:11211?tls_ca=%2Fca.pem&tls_skip_hostname_verification=true"},
	} {
		flags, _ := read(t, c.env)
		if flags["memcached"] != c.want || flags["redis"] != "" {
			t.Errorf("%v: --memcached %q --redis %q, want --memcached %q", c.env, flags["memcached"], flags["redis"], c.want)
		}
		if strings.HasPrefix(c.want, "memcacheds") {
			continue
		}
		if _, err := counter.ParseMemcached(c.want); err != nil {
			t.Errorf("Floodgate does not parse %s: %v", c.want, err)
		}
	}
}

func TestXDS(t *testing.T) {
	flags, _ := read(t, map[string]string{"CONFIG_TYPE": "GRPC_XDS_SOTW", "CONFIG_GRPC_XDS_NODE_ID": "test-node-id",
		"CONFIG_GRPC_XDS_SERVER_URL": "xds:18000", "CONFIG_GRPC_XDS_SERVER_USE_TLS": "true",
		"CONFIG_GRPC_XDS_SERVER_TLS_CACERT": "/ca.pem", "CONFIG_GRPC_XDS_CLIENT_TLS_CERT": "/c.pem",
		"CONFIG_GRPC_XDS_CLIENT_TLS_KEY": "/c.key", "CONFIG_GRPC_XDS_SERVER_TLS_SAN": "xds.example"})
	want := map[string]string{"xds": "xds:18000", "xds-type": "standard", "node-id": "test-node-id", "xds-ca": "/ca.pem",
		"xds-cert": "/c.pem", "xds-key": "/c.key", "xds-server-name": "xds.example", "config": ""}
	for k, v := range want {
		if flags[k] != v {
			t.Errorf("--%s = %q, want %q", k, flags[k], v)
		}
	}
}

func TestListenersStatsAndAnswers(t *testing.T) {
	flags, _ := read(t, map[string]string{
		"HOST": "127.0.0.1", "PORT": "18080", "GRPC_UDS": "/run/rl.sock", "DEBUG_PORT": "16070",
		"GRPC_MAX_CONNECTION_AGE": "30m", "GRPC_SERVER_USE_TLS": "true", "GRPC_SERVER_TLS_CERT": "/s.pem", "GRPC_SERVER_TLS_KEY": "/s.key",
		"LOG_LEVEL": "WARNING", "LOG_FORMAT": "JSON",
		"STATSD_HOST": "statsd", "STATSD_PORT": "9125", "EXTRA_TAGS": "a:1,b:2", "STATS_FLUSH_INTERVAL": "5s",
		"SHADOW_MODE": "true", "QUOTA_MODE": "1", "RESPONSE_DYNAMIC_METADATA": "true", "NEAR_LIMIT_RATIO": "0.9",
		"CACHE_KEY_PREFIX": "rl_", "STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT": "true", "LIMIT_RESPONSE_HEADERS_ENABLED": "true",
		"LIMIT_RESET_HEADER": "X-Reset", "MERGE_DOMAIN_CONFIG": "true", "FORCE_START_WITHOUT_INITIAL_CONFIG": "true",
		"HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED": "true", "RUNTIME_IGNOREDOTFILES": "true",
	})
	want := map[string]string{
		"http-addr": "127.0.0.1:18080", "grpc-addr": "unix:///run/rl.sock", "debug-addr": "0.0.0.0:16070",
		"max-connection-age": (30 * time.Minute).String(), "tls-cert": "/s.pem", "tls-key": "/s.key",
		"log-level": "warn", "log-format": "json",
		"statsd": "statsd:9125", "statsd-protocol": "tcp", "stats-extra-tags": "a:1,b:2", "stats-interval": "5s",
		"shadow-mode": "true", "quota-mode": "true", "response-dynamic-metadata": "true", "near-limit-ratio": "0.9",
		"key-prefix": "rl_", "stop-increment-over-limit": "true", "response-headers": "true", "header-reset": "X-Reset",
		"merge-domain-config": "true", "force-start-without-config": "true", "healthy-with-one-config": "true",
		"config-dotfiles": "",
	}
	for k, v := range want {
		if flags[k] != v {
			t.Errorf("--%s = %q, want %q", k, flags[k], v)
		}
	}
}

func TestOtherSinks(t *testing.T) {
	flags, _ := read(t, map[string]string{"USE_STATSD": "false", "USE_DOG_STATSD": "true"})
	if flags["dogstatsd"] != "true" || flags["statsd"] != "localhost:8125" || flags["statsd-protocol"] != "" {
		t.Errorf("DogStatsD: %v", flags)
	}
	flags, e := read(t, map[string]string{"USE_STATSD": "false", "USE_PROMETHEUS": "true", "PROMETHEUS_PATH": "/prom"})
	if flags["metrics-addr"] != ":9090" || flags["statsd"] != "" {
		t.Errorf("Prometheus: %v", flags)
	}
	if n, ok := note(e, "PROMETHEUS_PATH"); !ok || n.Supported {
		t.Errorf("PROMETHEUS_PATH=/prom: note %+v %v, want a warning", n, ok)
	}
	flags, _ = read(t, map[string]string{"DISABLE_STATS": "true", "USE_DOG_STATSD": "true"})
	if flags["disable-stats"] != "true" || flags["statsd"] != "" {
		t.Errorf("DISABLE_STATS: %v", flags)
	}
}

func TestNotes(t *testing.T) {
	_, e := read(t, map[string]string{"REDIS_PIPELINE_WINDOW": "150us", "LOCAL_CACHE_SIZE_IN_BYTES": "1000",
		"TRACING_ENABLED": "true", "TRACING_SERVICE_NAME": "rl", "USE_DOG_STATSD_MOGRIFIERS": "A"})
	for name, supported := range map[string]bool{"REDIS_PIPELINE_WINDOW": true, "LOCAL_CACHE_SIZE_IN_BYTES": false,
		"TRACING_ENABLED": false, "TRACING_SERVICE_NAME": false, "USE_DOG_STATSD_MOGRIFIERS": false} {
		n, ok := note(e, name)
		if !ok || n.Supported != supported || n.Why == "" {
			t.Errorf("%s: note %+v (found %v), want supported=%v with a reason", name, n, ok, supported)
		}
	}
	_, e = read(t, map[string]string{"TRACING_ENABLED": "false", "TRACING_SERVICE_NAME": "rl"})
	if n, ok := note(e, "TRACING_SERVICE_NAME"); !ok || !n.Supported {
		t.Errorf("tracing off: %+v", n)
	}
}

// Values envoyproxy/ratelimit refuses are refused, naming the variable.
func TestErrors(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORT": "http"}, `PORT="http": want a whole number`},
		{map[string]string{"BACKEND_TYPE": "dynamo"}, `BACKEND_TYPE="dynamo": want redis or memcache`},
		{map[string]string{"CONFIG_TYPE": "file"}, `CONFIG_TYPE="file": want FILE or GRPC_XDS_SOTW`},
		{map[string]string{"REDIS_TYPE": "sentinel", "REDIS_URL": "s1:26379"}, `REDIS_URL="s1:26379": a sentinel URL is <master name>`},
		{map[string]string{"REDIS_TYPE": "ring"}, `REDIS_TYPE="ring": want single, sentinel or cluster`},
		{map[string]string{"REDIS_TLS": "true"}, `REDIS_TLS="true": TLS over a unix socket`},
		{map[string]string{"USE_DOG_STATSD": "true"}, `USE_DOG_STATSD, USE_STATSD="true": one stats sink at a time`},
		{map[string]string{"BACKEND_TYPE": "memcache", "MEMCACHE_HOST_PORT": "a:1", "MEMCACHE_SRV": "_m._tcp.x"}, `MEMCACHE_SRV="_m._tcp.x": MEMCACHE_HOST_PORT is set too`},
		{map[string]string{"BACKEND_TYPE": "memcache"}, `needs MEMCACHE_HOST_PORT or MEMCACHE_SRV`},
		{map[string]string{"LOG_LEVEL": "loud"}, `LOG_LEVEL="loud": want one of`},
		{map[string]string{"GRPC_MAX_CONNECTION_AGE": "1 day"}, `GRPC_MAX_CONNECTION_AGE="1 day": want a duration`},
		{map[string]string{"SHADOW_MODE": "yes"}, `SHADOW_MODE="yes": want true or false`},
		{map[string]string{"NEAR_LIMIT_RATIO": "most"}, `NEAR_LIMIT_RATIO="most"`},
		{map[string]string{"CONFIG_TYPE": "GRPC_XDS_SOTW", "CONFIG_GRPC_XDS_SERVER_USE_TLS": "true"}, `needs the CA file`},
	} {
		_, err := Read(lookupIn(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.env, err, c.want)
		}
	}
}
