package ratelimit

import (
	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	"github.com/floodgate/floodgate/policy"
)

// descriptorStatsKey is the stats key of a detailed metric: the domain and
// every entry of the request, "domain.k1_v1.k2_v2", after prefix.
func descriptorStatsKey(prefix, domain string, entries []*ratelimitv3.RateLimitDescriptor_Entry, limit *policy.Limit) string {
	b := make([]byte, 0, 64)
	b = append(b, prefix...)
	b = append(b, domain...)
	for i, e := range entries {
		b = append(b, '.')
		b = append(b, e.GetKey()...)
		detailed := limit == nil || limit.DetailedMetric ||
			(i < len(limit.ValueToMetric) && limit.ValueToMetric[i])
		if v := e.GetValue(); v != "" && detailed {
			b = append(b, '_')
			b = append(b, v...)
		}
	}
	return string(b)
}
