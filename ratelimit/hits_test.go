package ratelimit

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/redisconn"
	"github.com/floodgate/floodgate/internal/testserver"
)

// The reproducer, in exact mode over gRPC on every store: two
// requests on one fresh key, hits 3 then 2^64-3. Before, the count wrapped
// to 0 and the second request was answered OK after an OVER_LIMIT (on
// Redis the second failed outright: 2^64-3 is past INCRBY's range).
func TestExactModeHugeHitsNeverWrapTheCount(t *testing.T) {
	stores := exactStores(t)
	stores["memory"] = func() counter.Store {
		m := counter.NewMemory()
		t.Cleanup(func() { m.Close() })
		return m
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			r := startRLS(t, Options{Limiter: NewExactLimiter(open()), KeyPrefix: "wrap_" + name + "_"}, testPolicy)
			for i, hits := range []uint64{3, math.MaxUint64 - 2, 1, 1 << 63, 0} {
				d := desc("remote_address", "wrap")
				d.HitsAddend = wrapperspb.UInt64(hits)
				resp, err := r.client.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{d}})
				if err != nil {
					t.Fatalf("request %d (%d hits): %v", i, hits, err)
				}
				// The limit is 3 a minute: 3 hits reach it, anything more is over.
				want := "OVER_LIMIT OVER_LIMIT"
				if i == 0 {
					want = "OK OK"
				}
				if got := codesOf(resp); got != want {
					t.Fatalf("request %d (%d hits): %s, want %s", i, hits, got, want)
				}
			}
			if got := r.counter("ratelimit.service.call.should_rate_limit.hits_clamped"); got != 2 {
				t.Fatalf("hits_clamped = %d, want 2", got)
			}
		})
	}
}

// The same reproducer through /json, whose body is protobuf JSON (uint64 as
// a string). Before: 200, 429, then 200 again.
func TestJSONHugeHitsNeverWrapTheCount(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	srv := httptest.NewServer(r.svc.HTTPHandler(func() (bool, map[string]any) { return true, nil }))
	defer srv.Close()
	for i, tc := range []struct {
		hits string
		want int
	}{{"3", 200}, {"18446744073709551613", 429}, {"1", 429}} {
		body := `{"domain":"api","descriptors":[{"entries":[{"key":"remote_address","value":"json-wrap"}],"hitsAddend":"` + tc.hits + `"}]}`
		resp, err := http.Post(srv.URL+"/json", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("/json call %d (%s hits): %d %s, want %d", i+1, tc.hits, resp.StatusCode, b, tc.want)
		}
	}
}

// Issue 16 item 8, through the RLS in exact mode on real Redis with the
// production store (counter.Open, batched): one caller's counter sits at
// Redis's maximum while others count their own keys on the same pipelines.
// Before, the pipeline failed as a whole and 13% of the others' requests
// failed with it; now none does, and the maxed key is simply over.
func TestExactModeCounterAtMaximumFailsNoOtherCaller(t *testing.T) {
	srv := testserver.Redis(t)
	store, err := counter.Open(counter.Location{RedisURL: "redis://" + srv.Addr, Batched: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	r := startRLS(t, Options{Limiter: NewExactLimiter(store), KeyPrefix: "max_"}, testPolicy)
	r.call(t, "api", desc("remote_address", "maxed"))
	client, err := redisconn.New("redis://" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	keys, err := client.Keys(context.Background(), "max_*maxed*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("counter of the maxed key: %v, %v", keys, err)
	}
	if err := client.Set(context.Background(), keys[0], math.MaxInt64, redis.KeepTTL).Err(); err != nil {
		t.Fatal(err)
	}

	const callers, each = 12, 30
	var wg sync.WaitGroup
	var failed, wrong atomic.Int64
	for c := range callers {
		wg.Go(func() {
			for range each {
				key := "maxed"
				if c > 0 {
					key = fmt.Sprintf("own-%d-%d", c, rand.Int())
				}
				resp, err := r.client.ShouldRateLimit(context.Background(),
					&rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("remote_address", key)}})
				switch {
				case err != nil:
					failed.Add(1)
				case (c == 0) != (resp.OverallCode == rlsv3.RateLimitResponse_OVER_LIMIT):
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || wrong.Load() != 0 {
		t.Fatalf("of %d requests beside a counter at its maximum, %d failed and %d got the wrong answer",
			callers*each, failed.Load(), wrong.Load())
	}
}
