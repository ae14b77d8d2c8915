package ratelimit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/redisconn"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// openGuarded opens exact mode's store on url as serve does: batched,
// behind its breaker.
func openGuarded(t testing.TB, url string) counter.Store {
	t.Helper()
	store, err := counter.Open(counter.Location{RedisURL: url, Batched: true,
		Breaker: &counter.BreakerOptions{Timeout: 200 * time.Millisecond, Idle: 50 * time.Millisecond, Logger: testkit.Quiet}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// With Redis stopped, exact mode answers by --on-store-down from its open
// breaker, health names the store, and once Redis is back everything
// counts in Redis again by itself.
func TestExactModeStoreDown(t *testing.T) {
	cases := []struct {
		on       StoreDown
		replicas int
		// codes and remaining of successive calls on one key while down
		codes     []string
		remaining []uint32
		stat      string
	}{
		{on: StoreDownAllow, codes: []string{"OK OK", "OK OK", "OK OK", "OK OK", "OK OK"},
			remaining: []uint32{2, 2, 2, 2, 2}, stat: "exact.store_down.allowed"},
		{on: StoreDownDeny, codes: []string{"OVER_LIMIT OVER_LIMIT", "OVER_LIMIT OVER_LIMIT"},
			remaining: []uint32{0, 0}, stat: "exact.store_down.denied"},
		// 3 per minute shared by 3 replicas: this one admits 1.
		{on: StoreDownLocal, replicas: 3, codes: []string{"OK OK", "OVER_LIMIT OVER_LIMIT", "OVER_LIMIT OVER_LIMIT"},
			remaining: []uint32{0, 0, 0}, stat: "exact.store_down.local"},
		// Alone, it admits the whole limit.
		{on: StoreDownLocal, replicas: 1, codes: []string{"OK OK", "OK OK", "OK OK", "OVER_LIMIT OVER_LIMIT"},
			remaining: []uint32{2, 1, 0, 0}, stat: "exact.store_down.local"},
	}
	for _, tc := range cases {
		t.Run(tc.on.String()+"/"+strconv.Itoa(tc.replicas), func(t *testing.T) {
			srv := testserver.Redis(t)
			url := "redis://" + srv.Addr + "/0?dial_timeout=200ms&read_timeout=200ms"
			store := openGuarded(t, url)
			local := counter.NewMemory()
			t.Cleanup(func() { _ = local.Close() })
			st := gostats.NewStore(gostats.NewNullSink(), false)
			lim := NewExactLimiterWith(store, ExactOptions{OnStoreDown: tc.on, Local: local, Replicas: tc.replicas, Stats: st})
			start := time.Now()
			prefix := "down_" + tc.on.String() + "_"
			r := startRLS(t, Options{Limiter: lim, KeyPrefix: prefix, Now: func() time.Time { return start }}, testPolicy)
			health := func() (int, string) {
				w := httptest.NewRecorder()
				r.svc.HTTPHandler(lim.HealthCheck()).ServeHTTP(w, httptest.NewRequest("GET", "/healthcheck", nil))
				return w.Code, w.Body.String()
			}
			if code, body := health(); code != http.StatusOK {
				t.Fatalf("health with Redis up: %d %s", code, body)
			}

			srv.Stop()
			down := store.(counter.DownReporter)
			testkit.Eventually(t, "the breaker to open", func() bool { return down.Down() != nil })
			for i, want := range tc.codes {
				resp := r.call(t, "api", desc("remote_address", "down"))
				if got := codesOf(resp); got != want || resp.Statuses[0].LimitRemaining != tc.remaining[i] {
					t.Fatalf("call %d with Redis down: %s remaining %d, want %s remaining %d",
						i, got, resp.Statuses[0].LimitRemaining, want, tc.remaining[i])
				}
			}
			if got := st.NewCounter(tc.stat).Value(); got != uint64(len(tc.codes)) {
				t.Errorf("%s = %d, want %d", tc.stat, got, len(tc.codes))
			}
			code, body := health()
			var h struct {
				Detail map[string]any `json:"detail"`
			}
			_ = json.Unmarshal([]byte(body), &h)
			cs, _ := h.Detail["counter_store"].(string)
			if code != http.StatusInternalServerError || !strings.Contains(cs, srv.Addr) || !strings.Contains(cs, "down since") {
				t.Fatalf("health with Redis down: %d %s, want 500 naming the store and since when", code, body)
			}

			srv.Start()
			testkit.Eventually(t, "the breaker to close", func() bool { return down.Down() == nil })
			if code, body := health(); code != http.StatusOK {
				t.Fatalf("health after Redis came back: %d %s", code, body)
			}
			// Redis restarted empty: the next hits count there from 1.
			for _, want := range []uint32{2, 1} {
				if got := r.call(t, "api", desc("remote_address", "down")).Statuses[0].LimitRemaining; got != want {
					t.Fatalf("after recovery remaining %d, want %d", got, want)
				}
			}
			client, err := redisconn.New(url)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			keys, err := client.Keys(context.Background(), prefix+"*").Result()
			if err != nil || len(keys) != 1 {
				t.Fatalf("keys in Redis after recovery: %v %v, want one", keys, err)
			}
			if n, _ := client.Get(context.Background(), keys[0]).Int(); n != 2 {
				t.Fatalf("%s = %d in Redis, want 2", keys[0], n)
			}
		})
	}
}

// BenchmarkShouldRateLimitExactStoreDown is one ShouldRateLimit of two
// descriptors, without the gRPC transport, in exact mode whose Redis
// (nothing listening on its port) has opened the breaker, with
// --on-store-down local: what a call costs while the store is down.
func BenchmarkShouldRateLimitExactStoreDown(b *testing.B) {
	store := openGuarded(b, "redis://127.0.0.1:"+strconv.Itoa(testserver.FreePort(b))+"/0")
	local := counter.NewMemory()
	defer local.Close()
	now := time.Now()
	svc := NewService(Options{Limiter: NewExactLimiterWith(store, ExactOptions{OnStoreDown: StoreDownLocal, Local: local}),
		Now: func() time.Time { return now }})
	svc.SetSnapshot(compile(b, testPolicy))
	req := &rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{
		desc("remote_address", "10.1.2.3"), desc("path", "/search/x"),
	}}
	ctx := context.Background()
	for store.(counter.DownReporter).Down() == nil {
		_, _ = svc.ShouldRateLimit(ctx, req)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.ShouldRateLimit(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
