package ratelimit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/floodgate/floodgate/internal/envoywire"
	"google.golang.org/grpc"
)

// Header values Envoy copies into descriptors can hold any bytes. A value
// that is not UTF-8 is limited by its bytes, over gRPC and /json alike:
// before, it failed to decode, and behind Envoy's default
// failure_mode_deny: false such a request was admitted without limit.
func TestAnyBytesAreLimited(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy) // remote_address: 3 per minute per value
	call := func(value string) rlsv3.RateLimitResponse_Code {
		t.Helper()
		resp, err := r.client.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{Domain: "api",
			Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("remote_address", value)}},
			grpc.ForceCodecV2(envoywire.Codec{}))
		if err != nil {
			t.Fatalf("value %q: %v", value, err)
		}
		return resp.GetOverallCode()
	}
	const okCode, overCode = rlsv3.RateLimitResponse_OK, rlsv3.RateLimitResponse_OVER_LIMIT
	for i, want := range []rlsv3.RateLimitResponse_Code{okCode, okCode, okCode, overCode} {
		if got := call("\xff\x00a"); got != want {
			t.Fatalf("call %d with value \\xff\\x00a: %v, want %v", i+1, got, want)
		}
	}
	// Other bytes are another key: no two invalid values collapse into one
	// replacement character.
	if got := call("\xfe\x00a"); got != okCode {
		t.Fatalf("value \\xfe\\x00a: %v, want OK: it shares \\xff\\x00a's counter", got)
	}

	// /json takes the same bytes raw in its strings, and counts them on the
	// same key.
	srv := httptest.NewServer(r.svc.HTTPHandler(nil))
	defer srv.Close()
	body := "{\"domain\":\"api\",\"descriptors\":[{\"entries\":[{\"key\":\"remote_address\",\"value\":\"\xfe\\u0000a\"}]}]}"
	for i, want := range []int{200, 200, 429} {
		resp, err := http.Post(srv.URL+"/json", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("/json call %d with value \\xfe\\x00a: %d %s, want %d", i+1, resp.StatusCode, b, want)
		}
	}
}

// Stand-ins never clash with what a body already holds, raw or escaped.
func TestJSONStandInsAvoidTheBody(t *testing.T) {
	first := string(rune(standInFirst))
	body := "{\"domain\":\"api\",\"descriptors\":[{\"entries\":[{\"key\":\"k\",\"value\":\"" +
		first + "\\udb80\\udd00\xff\"}]}]}" // U+F0000 raw, U+F0100 escaped, then the byte 0xff
	var req rlsv3.RateLimitRequest
	if err := unmarshalJSONRequest([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	if got, want := req.Descriptors[0].Entries[0].Value, first+string(rune(standInFirst+0x100))+"\xff"; got != want {
		t.Fatalf("value %q, want %q", got, want)
	}
}
