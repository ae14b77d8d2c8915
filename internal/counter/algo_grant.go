package counter

import (
	"context"
	"fmt"
	"time"
)

// SlidingGrant asks for tokens of a sliding window in lease mode. Grant
// holds the current window's granted count and its fields mean what they
// mean for a fixed window; PrevKey is the previous window's granted count.
// The tokens granted are at most Limit − (the estimated count over the
// sliding window, granted but unspent tokens included), so spending them
// later in the window never passes Limit: the estimate only falls as the
// window goes on. A window's granted count lives two windows (and
// grantGrace) from its start, since it is the next window's previous one.
type SlidingGrant struct {
	Grant
	PrevKey string
}

// BucketGrant asks for tokens of a token bucket in lease mode: tokens
// granted are taken from the bucket (its TAT moves on), so that spending
// them later never passes the bucket's rate and burst.
type BucketGrant struct {
	Key    string
	Limit  uint64        // tokens refilled per Window: the rate
	Window time.Duration // unit × unit_multiplier
	Burst  uint64        // the bucket's size; Limit when 0
	// Want, Charge, Return and Divisor are as in Grant. A charge (a
	// replica's overdraft) is taken whatever the bucket holds, up to one
	// Burst; a return never fills the bucket past full.
	Want, Charge, Return, Divisor uint64
}

// An AlgoGranter grants tokens of sliding windows and token buckets at a
// time the caller gives, in one round trip where the backend allows it,
// never past the limit (charges aside). Granted.Status is GrantStale or
// GrantEarly for a sliding window not in force, as for Grant (by now, not
// the store's clock), and always GrantOK for a bucket; Granted.Total is the
// window's granted count (sliding) or the tokens in use (bucket);
// Granted.Used is what the limit is judged on: the estimated count
// (sliding), the tokens in use (bucket).
type AlgoGranter interface {
	GrantSliding(ctx context.Context, now time.Time, gs []SlidingGrant, out []Granted) error
	GrantBucket(ctx context.Context, now time.Time, gs []BucketGrant, out []Granted) error
}

func checkSlidingGrants(gs []SlidingGrant, out []Granted) error {
	if len(out) != len(gs) {
		return fmt.Errorf("counter: %d grants but %d results", len(gs), len(out))
	}
	for _, g := range gs {
		if g.Window < time.Millisecond || g.PrevKey == "" {
			return fmt.Errorf("counter %q: sliding grant: window %v (must be at least 1ms), previous key %q", g.Key, g.Window, g.PrevKey)
		}
	}
	return nil
}

func checkBucketGrants(gs []BucketGrant, out []Granted) ([]bucket, error) {
	if len(out) != len(gs) {
		return nil, fmt.Errorf("counter: %d grants but %d results", len(gs), len(out))
	}
	bks := make([]bucket, len(gs))
	for i, g := range gs {
		l := Limit{Algorithm: TokenBucket, Key: g.Key, Limit: g.Limit, Window: g.Window, Burst: g.Burst}
		if err := checkLimit(time.Time{}, l); err != nil {
			return nil, fmt.Errorf("counter %q: bucket grant: %w", g.Key, err)
		}
		bks[i], _ = newBucket(l)
	}
	return bks, nil
}

// slidingGrantWeight is the previous window's weight for a grant at now;
// a window granted ahead of its start counts the previous one whole.
func slidingGrantWeight(g Grant, now time.Time) uint64 {
	return slidingWeight(max(now.Sub(time.Unix(g.WindowStart, 0)), 0), g.Window)
}

// slidingGrantTTL keeps a window's granted count through the next window,
// and grantGrace past it.
func slidingGrantTTL(g Grant, now time.Time) time.Duration {
	return time.Unix(g.WindowStart, 0).Add(2*g.Window + grantGrace).Sub(now)
}

// applySlidingGrant is applyGrant with the limit lowered by the previous
// window's part of the estimate.
func applySlidingGrant(total uint64, lost bool, g Grant, prev, w uint64, take func(total, remaining uint64) uint64) (after, tokens uint64) {
	part := slidingEstimate(prev, 0, w)
	g.Limit -= min(g.Limit, part)
	return applyGrant(total, lost, g, take)
}
