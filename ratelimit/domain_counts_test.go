package ratelimit

import (
	"context"
	"testing"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
)

func TestDomainCountsCountAnswersPerDomain(t *testing.T) {
	var c DomainCounts
	call := c.Interceptor()
	answer := func(domain string, resp *rlsv3.RateLimitResponse) {
		t.Helper()
		handler := func(context.Context, any) (any, error) { return resp, nil }
		if _, err := call(context.Background(), &rlsv3.RateLimitRequest{Domain: domain}, &grpc.UnaryServerInfo{}, handler); err != nil {
			t.Fatal(err)
		}
	}
	status := func(remaining uint32) *rlsv3.RateLimitResponse_DescriptorStatus {
		return &rlsv3.RateLimitResponse_DescriptorStatus{Code: rlsv3.RateLimitResponse_OK, LimitRemaining: remaining,
			CurrentLimit: &rlsv3.RateLimitResponse_RateLimit{RequestsPerUnit: 10}}
	}
	answer("api", &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OK, Statuses: []*rlsv3.RateLimitResponse_DescriptorStatus{status(9)}})
	answer("api", &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OK, Statuses: []*rlsv3.RateLimitResponse_DescriptorStatus{status(1)}})
	answer("api", &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OVER_LIMIT})
	answer("web", &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OK})

	got := c.Counts()
	want := []DomainCount{{Domain: "api", Requests: 3, OverLimit: 1, NearLimit: 1}, {Domain: "web", Requests: 1}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
}
