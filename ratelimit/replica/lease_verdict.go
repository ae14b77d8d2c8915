package replica

import (
	"time"

	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// setVerdict sets it's Count, and for an item that decides itself its
// verdict: admitted or not, what the fleet has left as this replica knows
// it, and when it resets (denied: when a request would next be admitted,
// as far as the replica knows). ls is nil for a key the table had no
// room for.
func setVerdict(it *ratelimit.Item, ls *lease, admitted bool, now time.Time) {
	if admitted {
		it.Count = it.Hits
		if ls != nil {
			it.Count = countOf(ls, it.Hits)
		}
	} else {
		it.Count = overLimit(it)
	}
	if !it.DecidesItself() {
		return
	}
	it.Decided, it.Over = true, !admitted
	limit := leaseLimit(it)
	it.Remaining = 0
	if admitted {
		it.Remaining = limit - min(limit, it.Count)
	}
	it.ResetAfter = resetAfter(it, ls, admitted, now)
}

// resetAfter is the item's duration_until_reset: a window's end; a token
// bucket's next token; for a denied sliding window or bucket, when the
// engine said a token may be granted again.
func resetAfter(it *ratelimit.Item, ls *lease, admitted bool, now time.Time) time.Duration {
	if !admitted && ls != nil {
		if at := ls.retryAt.Load(); at > now.UnixNano() {
			return time.Duration(at - now.UnixNano())
		}
	}
	if it.Algorithm == policy.TokenBucket {
		return time.Duration(it.WindowSeconds()) * time.Second / time.Duration(max(it.RequestsPerUnit, 1))
	}
	return max(time.Unix(it.WindowStart+it.WindowSeconds(), 0).Sub(now), 0)
}
