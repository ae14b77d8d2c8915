package ratelimit

import (
	"time"

	"github.com/floodgate/floodgate/policy"
)

// ItemFor resolves one descriptor against the policies in force exactly as
// ShouldRateLimit does (same matcher, same window, same counter key), for
// callers that count outside a request: the RLQS server's buckets. ok is
// false when no counted rule applies (no match, unlimited, unknown unit).
// The item's Key is its own, not a view of a reused buffer. A descriptor
// with several limits (rate_limits) gives its first.
func (s *Service) ItemFor(domain string, entries []*ratelimitEntry, now time.Time) (it Item, ok bool) {
	snap := s.served.Load().snap
	res := policy.Resolve(snap, domain, entries, nil, now.Unix())
	if !res.Counted() {
		return Item{}, false
	}
	return Item{
		Domain:          domain,
		Entries:         entries,
		Limit:           res.Limit,
		RequestsPerUnit: res.RequestsPerUnit,
		Unit:            res.Unit,
		UnitMultiplier:  res.UnitMultiplier,
		Algorithm:       res.Algorithm,
		Burst:           res.Burst,
		Now:             now,
		WindowStart:     res.WindowStart,
		Key:             string(policy.AppendKey(nil, s.keys, domain, entries, &res)),
		Hits:            1,
		Quota:           s.quota || res.Limit.QuotaMode,
	}, true
}
