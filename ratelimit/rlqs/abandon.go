package rlqs

import (
	"time"

	rlqsv3 "github.com/envoyproxy/go-control-plane/envoy/service/rate_limit_quota/v3"

	"github.com/floodgate/floodgate/policy"
)

// policyPoll is how often a stream looks for new policies: a bucket whose
// rule was deleted is abandoned within it, not at the client's next report,
// which may be many seconds away.
const policyPoll = time.Second

// abandonDeleted abandons, at once, the buckets whose counted rule snap no
// longer has: Envoy erases them and makes them again, under whatever
// applies then, at their next request. The tokens they held stay spent.
func (st *stream) abandonDeleted(snap *policy.Snapshot) *rlqsv3.RateLimitQuotaResponse {
	s := st.s
	resp := &rlqsv3.RateLimitQuotaResponse{}
	now := s.o.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	if snap == st.snap {
		return resp
	}
	st.snap = snap
	for k, b := range st.buckets {
		if !b.ruled {
			continue
		}
		if _, ok := s.items(b.domain, b.id, now); ok {
			continue
		}
		resp.BucketAction = append(resp.BucketAction, abandon(b.id))
		s.st.abandoned.Inc()
		delete(st.buckets, k)
		s.st.buckets.Dec()
	}
	return resp
}
