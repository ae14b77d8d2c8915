package ratelimit

import (
	"testing"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
)

// A limit override whose unit is unknown does not switch the descriptor's
// limit off: it is answered with the configured limit, as if it carried no
// override. (InvalidArgument would fail the whole call, which Envoy, failing
// open by default, lets through unlimited.)
func TestOverrideWithUnknownUnitKeepsTheConfiguredLimit(t *testing.T) {
	r := startRLS(t, Options{}, "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 2}\n")
	d := desc("k", "v")
	d.Limit = &ratelimitv3.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 1000, Unit: typev3.RateLimitUnit_UNKNOWN}
	var got []rlsv3.RateLimitResponse_Code
	for range 3 {
		resp := r.call(t, "d", d)
		st := resp.GetStatuses()[0]
		if l := st.GetCurrentLimit(); l.GetRequestsPerUnit() != 2 || l.GetUnit() != rlsv3.RateLimitResponse_RateLimit_MINUTE {
			t.Fatalf("current limit %v, want the configured 2/MINUTE", l)
		}
		got = append(got, st.GetCode())
	}
	want := []rlsv3.RateLimitResponse_Code{rlsv3.RateLimitResponse_OK, rlsv3.RateLimitResponse_OK, rlsv3.RateLimitResponse_OVER_LIMIT}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("3 calls with an unknown-unit override answered %v, want %v", got, want)
		}
	}
}
