package ratelimit

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
)

// DomainCounts counts ShouldRateLimit answers per domain, from the first
// request on, for people to look at (the dashboard turns successive reads
// into rates). It sits in front of the service as a gRPC interceptor, so
// the service's own stats stay as they are. The zero value is ready to use.
type DomainCounts struct {
	// NearLimitRatio is the fraction of a descriptor's limit spent above
	// which an OK answer counts as near the limit; 0 means 0.8, the
	// service's default.
	NearLimitRatio float64

	domains sync.Map // string -> *domainCount
}

type domainCount struct{ requests, overLimit, nearLimit atomic.Uint64 }

// DomainCount is one domain's answers since the process started.
type DomainCount struct {
	Domain    string `json:"domain"`
	Requests  uint64 `json:"requests"`
	OverLimit uint64 `json:"over_limit"`
	NearLimit uint64 `json:"near_limit"`
}

// Interceptor counts every answered ShouldRateLimit; other methods pass.
func (c *DomainCounts) Interceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		rq, ok := req.(*rlsv3.RateLimitRequest)
		rs, ok2 := resp.(*rlsv3.RateLimitResponse)
		if err == nil && ok && ok2 {
			c.count(rq.GetDomain(), rs)
		}
		return resp, err
	}
}

func (c *DomainCounts) count(domain string, rs *rlsv3.RateLimitResponse) {
	v, ok := c.domains.Load(domain)
	if !ok {
		v, _ = c.domains.LoadOrStore(domain, new(domainCount))
	}
	dc := v.(*domainCount)
	dc.requests.Add(1)
	if rs.GetOverallCode() == rlsv3.RateLimitResponse_OVER_LIMIT {
		dc.overLimit.Add(1)
		return
	}
	ratio := c.NearLimitRatio
	if ratio <= 0 {
		ratio = 0.8
	}
	for _, st := range rs.GetStatuses() {
		limit := st.GetCurrentLimit().GetRequestsPerUnit()
		if limit > 0 && float64(limit-min(limit, st.GetLimitRemaining())) > ratio*float64(limit) {
			dc.nearLimit.Add(1)
			return
		}
	}
}

// Counts returns every domain's counts, by domain name.
func (c *DomainCounts) Counts() []DomainCount {
	var out []DomainCount
	c.domains.Range(func(k, v any) bool {
		dc := v.(*domainCount)
		out = append(out, DomainCount{Domain: k.(string), Requests: dc.requests.Load(),
			OverLimit: dc.overLimit.Load(), NearLimit: dc.nearLimit.Load()})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}
