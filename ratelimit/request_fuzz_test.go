package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/envoywire"
)

// FuzzShouldRateLimit sends the RLS (exact mode, in-memory counters) any
// request body a client can send: any descriptors, entries, bytes,
// overrides and hits. Each is answered with one status per descriptor, or
// refused InvalidArgument; nothing else, and no panic.
func FuzzShouldRateLimit(f *testing.F) {
	f.Add(envoywire.AppendRequest(nil, binaryRequest()))
	f.Add(envoywire.AppendRequest(nil, &rlsv3.RateLimitRequest{Domain: "api", HitsAddend: 1 << 31, Descriptors: []*commonrl.RateLimitDescriptor{
		desc("remote_address", "10.0.0.1"), desc("path", "/login"),
		{Entries: desc("api_key", "k").Entries, HitsAddend: wrapperspb.UInt64(1<<64 - 1),
			Limit: &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 0, Unit: typev3.RateLimitUnit(42)}},
	}}))
	f.Add(envoywire.AppendRequest(nil, &rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*commonrl.RateLimitDescriptor{{}}}))
	snap := compile(f, testPolicy)
	f.Fuzz(func(t *testing.T, b []byte) {
		req := new(rlsv3.RateLimitRequest)
		if decodeRequest(b, req) != nil {
			return // refused InvalidArgument by the codec
		}
		mem := counter.NewMemory()
		defer mem.Close()
		svc := NewService(Options{Limiter: NewExactLimiter(mem), Now: func() time.Time { return testNow }})
		svc.SetSnapshot(snap)
		resp, err := svc.ShouldRateLimit(context.Background(), req)
		switch {
		case err != nil && status.Code(err) != codes.InvalidArgument:
			t.Fatalf("%v: want an answer or InvalidArgument", err)
		case err == nil && len(resp.GetStatuses()) != len(req.GetDescriptors()):
			t.Fatalf("%d statuses for %d descriptors", len(resp.GetStatuses()), len(req.GetDescriptors()))
		}
	})
}

// FuzzJSON posts any body to /json: it is answered 200 or 429, or refused
// 400 or 413, never 500, and never panics.
func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"domain":"api","descriptors":[{"entries":[{"key":"path","value":"/login"}]}]}`))
	f.Add([]byte("{\"domain\":\"api\",\"descriptors\":[{\"entries\":[{\"key\":\"remote_address\",\"value\":\"\xff\\udb80\\udd00\"}],\"hitsAddend\":\"18446744073709551615\"}]}"))
	f.Add([]byte(`{"domain":"api","descriptors":[{"entries":[{"key":"k"}],"limit":{"requestsPerUnit":1,"unit":"FORTNIGHT"}}]}`))
	f.Add([]byte(`{"domain":`))
	snap := compile(f, testPolicy)
	f.Fuzz(func(t *testing.T, body []byte) {
		mem := counter.NewMemory()
		defer mem.Close()
		svc := NewService(Options{Limiter: NewExactLimiter(mem), Now: func() time.Time { return testNow }})
		svc.SetSnapshot(snap)
		rec := httptest.NewRecorder()
		svc.HTTPHandler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/json", strings.NewReader(string(body))))
		switch rec.Code {
		case 200, 429, 400, 413:
		default:
			t.Fatalf("/json: %d %s", rec.Code, rec.Body)
		}
	})
}
