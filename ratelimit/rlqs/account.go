package rlqs

import (
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// account is a bucket's count of one limit of its rule (a rule with
// rate_limits has several) in one window: Envoy has one token bucket per
// bucket, so every token assigned is debited from each limit's lease.
type account struct {
	// leased: hold is the lease of windowEnd's window.
	leased    bool
	hold      replica.Hold
	windowEnd int64
	ledger    ledger
	deny      bool // the limit is used up until windowEnd
}

// limit is one limit of a bucket's rule, and its place in the rule's
// rate_limits, which its lease asks for.
type limit struct {
	ratelimit.Item
	index int
}

// enforced are the limits of items a bucket draws leases for: counted,
// neither quota nor shadow, and not zero (DENY_ALL needs no lease).
func enforced(items []ratelimit.Item) []limit {
	var out []limit
	for i, it := range items {
		if counted(&it) {
			out = append(out, limit{Item: it, index: i})
		}
	}
	return out
}

// denies reports whether it can deny: neither a quota nor a shadow limit,
// which ShouldRateLimit only reports.
func denies(it *ratelimit.Item) bool {
	return !it.Quota && (it.Limit == nil || !it.Limit.ShadowMode)
}

// counted reports whether it draws on a lease.
func counted(it *ratelimit.Item) bool { return it.RequestsPerUnit > 0 && denies(it) }

// zero reports whether a limit of items admits nothing.
func zero(items []ratelimit.Item) bool {
	for _, it := range items {
		if it.RequestsPerUnit == 0 && denies(&it) {
			return true
		}
	}
	return false
}

// leased reports whether every limit of the bucket has its lease.
func (b *bucket) leased() bool {
	for i := range b.accts {
		if !b.accts[i].leased {
			return false
		}
	}
	return len(b.accts) > 0
}

// denied reports a limit used up: the bucket is DENY_ALL until it turns.
func (b *bucket) denied() bool {
	for i := range b.accts {
		if b.accts[i].deny {
			return true
		}
	}
	return false
}

// exhausted reports a limit whose window is used up fleet-wide.
func (b *bucket) exhausted() bool {
	for i := range b.accts {
		if b.accts[i].leased && b.accts[i].hold.Exhausted() {
			return true
		}
	}
	return false
}

// windowEnd is when the first of the bucket's windows ends: its tokens were
// debited from every one of them.
func (b *bucket) windowEnd() int64 {
	var end int64
	for i := range b.accts {
		if e := b.accts[i].windowEnd; end == 0 || e < end {
			end = e
		}
	}
	return end
}

// left is what the assignment in force has left, by the least of its
// limits' ledgers.
func (b *bucket) left() uint64 {
	var left uint64
	for i := range b.accts {
		if l := b.accts[i].ledger.left(); i == 0 || l < left {
			left = l
		}
	}
	return left
}

// assigned notes n tokens assigned, debited from every limit's lease.
func (b *bucket) assigned(n uint64) {
	for i := range b.accts {
		if b.accts[i].leased {
			b.accts[i].ledger.assign(n)
		}
	}
}

// spending reports whether the assignment in force is a token bucket of
// leased tokens, which Envoy spends as requests come.
func (b *bucket) spending() bool {
	return b.action.GetQuotaAssignmentAction().GetRateLimitStrategy().GetTokenBucket() != nil
}
