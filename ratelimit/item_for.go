package ratelimit

import (
	"time"

	"github.com/floodgate/floodgate/policy"
)

// ItemsFor resolves one descriptor against the policies in force exactly as
// ShouldRateLimit does (same matcher, same windows, same counter keys), for
// callers that count outside a request: the RLQS server's buckets. It gives
// one item per limit of the rule (several with rate_limits); ok is false
// when no counted rule applies (no match, unlimited, unknown unit). Each
// item's Key is its own, not a view of a reused buffer.
func (s *Service) ItemsFor(domain string, entries []*ratelimitEntry, now time.Time) (items []Item, ok bool) {
	snap := s.served.Load().snap
	res := policy.Resolve(snap, domain, entries, nil, now.Unix())
	if !res.Counted() {
		return nil, false
	}
	n := max(len(res.Limits), 1)
	items = make([]Item, n)
	for i := range n {
		ri := res
		if i > 0 {
			ri = res.Nth(i, now.Unix())
		}
		items[i] = s.itemOf(domain, entries, res.Limit, &ri, 1, now)
		items[i].Key = string(policy.AppendKey(nil, s.keys, domain, entries, &ri))
		items[i].Several = n > 1
	}
	return items, true
}

// itemOf is the item that counts limit ri of a descriptor (fallback is its
// limit when ri names none), without its key: what ShouldRateLimit counts
// and ItemsFor hands out alike.
func (s *Service) itemOf(domain string, entries []*ratelimitEntry, fallback *policy.Limit, ri *policy.Resolved, hits uint64, now time.Time) Item {
	l := fallback
	if ri.Limit != nil {
		l = ri.Limit
	}
	return Item{
		Domain:          domain,
		Entries:         entries,
		Limit:           l,
		RequestsPerUnit: ri.RequestsPerUnit,
		Unit:            ri.Unit,
		UnitMultiplier:  ri.UnitMultiplier,
		Algorithm:       ri.Algorithm,
		Burst:           ri.Burst,
		Override:        ri.Override,
		WindowStart:     ri.WindowStart,
		Hits:            hits,
		Quota:           s.quota || l.QuotaMode,
		Now:             now,
	}
}
