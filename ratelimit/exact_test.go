package ratelimit

import (
	"context"
	"strings"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/redisconn"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// exactStores are the shared stores exact mode counts in, each on a real
// server. Two Services over one store stand for two RLS replicas.
func exactStores(t *testing.T) map[string]func() counter.Store {
	redisSrv := testserver.Redis(t)
	mc1, mc2 := testserver.Memcached(t), testserver.Memcached(t)
	return map[string]func() counter.Store{
		"redis": func() counter.Store {
			client, err := redisconn.New("redis://" + redisSrv.Addr + "/0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Close() })
			return counter.NewRedis(client, "")
		},
		"memcached": func() counter.Store {
			s := counter.NewMemcached([]string{mc1.Addr, mc2.Addr}, "")
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func TestExactModeSharesCountsAcrossReplicas(t *testing.T) {
	for name, open := range exactStores(t) {
		t.Run(name, func(t *testing.T) {
			// Both replicas read one clock that stands still, so all hits
			// land in one window. It stands at the test's start because the
			// stores expire keys a window's length after they are written,
			// in real time.
			start := time.Now()
			now := func() time.Time { return start }
			a := startRLS(t, Options{Limiter: NewExactLimiter(open()), Now: now, KeyPrefix: name + "_"}, testPolicy)
			b := startRLS(t, Options{Limiter: NewExactLimiter(open()), Now: now, KeyPrefix: name + "_"}, testPolicy)
			key := desc("remote_address", "shared-"+name)
			var remaining []uint32
			for _, r := range []*testRLS{a, b, a} {
				remaining = append(remaining, r.call(t, "api", key).Statuses[0].LimitRemaining)
			}
			if remaining[0] != 2 || remaining[1] != 1 || remaining[2] != 0 {
				t.Fatalf("remaining across replicas = %v, want [2 1 0]", remaining)
			}
			if got := codesOf(b.call(t, "api", key)); got != "OVER_LIMIT OVER_LIMIT" {
				t.Fatalf("4th hit on the other replica: %s", got)
			}
		})
	}
}

func TestExactModeRedisOutageIsAnErrorThenRecovers(t *testing.T) {
	srv := testserver.Redis(t)
	client, err := redisconn.New("redis://" + srv.Addr + "/0?dial_timeout=200ms&read_timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	r := startRLS(t, Options{Limiter: NewExactLimiter(counter.NewRedis(client, "")), Now: time.Now}, testPolicy)
	req := &rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("remote_address", "outage")}}

	srv.Stop()
	_, err = r.client.ShouldRateLimit(context.Background(), req)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "counting hits") {
		t.Fatalf("with Redis down: %v, want Unavailable naming the counting failure", err)
	}
	// Descriptors that match nothing never touch the store.
	if got := codesOf(r.call(t, "api", desc("nothing", "x"))); got != "OK OK" {
		t.Fatalf("unmatched with Redis down: %s", got)
	}
	srv.Start()
	testkit.Eventually(t, "a request to succeed after Redis came back", func() bool {
		_, err = r.client.ShouldRateLimit(context.Background(), req)
		return err == nil
	})
}
