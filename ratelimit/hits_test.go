package ratelimit

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/floodgate/floodgate/internal/counter"
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
