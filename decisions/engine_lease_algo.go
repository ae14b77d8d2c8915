package decisions

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/policy"
)

// bucketLeaseLife is how long a token bucket's lease lasts past its last
// grant. A bucket has no window to end its lease with; a replica gives back
// what it still holds when the lease lapses (and sooner when the key goes
// idle), so tokens never stay with a replica that stopped using them.
const bucketLeaseLife = 5 * time.Second

// minRetry is the least retry_after a used-up sliding window or bucket is
// given: below it a replica would ask again before the answer came back.
const minRetry = 5 * time.Millisecond

// resolveAsk resolves an ask to the limit it is for, as the replica did:
// the same Resolve and, for one of several limits, the same Nth.
func resolveAsk(snap *policy.Snapshot, a *enginepb.LeaseAsk) (policy.Resolved, bool) {
	res := policy.Resolve(snap, a.GetDomain(), a.GetEntries(), overrideOf(a.GetLimit()), a.GetWindowStart())
	if !res.Counted() {
		return res, false
	}
	if n := int(a.GetLimitIndex()); n > 0 {
		if n >= len(res.Limits) {
			return res, false
		}
		res = res.Nth(n, a.GetWindowStart())
		if !res.Counted() {
			return res, false
		}
	}
	return res, true
}

// bucketLeaseEnd is when a token bucket's lease granted at now lapses, in
// Unix seconds.
func bucketLeaseEnd(now time.Time) int64 {
	return now.Add(bucketLeaseLife).Unix()
}

// leaseBatch is one lease request's grants, by algorithm: each algorithm
// is one call to the counter store.
type leaseBatch struct {
	fixed   []counter.Grant
	sliding []counter.SlidingGrant
	bucket  []counter.BucketGrant
	outs    [3][]counter.Granted
}

// add puts g, resolved as res, in the batch; it returns its place among
// its algorithm's grants and the limit's burst (a bucket's size). prevKey
// is a sliding window's previous window, counter prefix included.
func (b *leaseBatch) add(g counter.Grant, res *policy.Resolved, prevKey string, known uint64) (int, uint64) {
	switch res.Algorithm {
	case policy.SlidingWindow:
		// The replica's seen is its estimate, the previous window's part
		// included: only what this engine saw the window's own count at
		// may raise a count the store lost.
		g.Floor = min(known, g.Limit)
		b.sliding = append(b.sliding, counter.SlidingGrant{Grant: g, PrevKey: prevKey})
		return len(b.sliding) - 1, 0
	case policy.TokenBucket:
		burst := uint64(res.Burst)
		if burst == 0 {
			burst = g.Limit
		}
		b.bucket = append(b.bucket, counter.BucketGrant{Key: g.Key, Limit: g.Limit, Window: g.Window, Burst: burst,
			Want: g.Want, Charge: g.Charge, Return: g.Return, Divisor: g.Divisor})
		return len(b.bucket) - 1, burst
	}
	b.fixed = append(b.fixed, g)
	return len(b.fixed) - 1, 0
}

// prevKey is the counter of the window before res's, prefix included.
func (e *Engine) prevKey(a *enginepb.LeaseAsk, res *policy.Resolved, buf []byte) string {
	prev := *res
	prev.WindowStart -= res.WindowSeconds()
	return e.o.CounterPrefix + string(policy.AppendKey(buf[:0], e.keys, a.GetDomain(), a.GetEntries(), &prev))
}

// grant asks the store for every grant of the batch, one call per
// algorithm; the errors are by algorithm. A store that grants only fixed
// windows fails the others as unavailable.
func (b *leaseBatch) grant(ctx context.Context, e *Engine, now time.Time) (errs [3]error) {
	if len(b.fixed) > 0 {
		b.outs[policy.FixedWindow] = make([]counter.Granted, len(b.fixed))
		errs[policy.FixedWindow] = e.granter.Grant(ctx, b.fixed, b.outs[policy.FixedWindow])
	}
	if len(b.sliding) == 0 && len(b.bucket) == 0 {
		return e.warnGrant(errs)
	}
	ag, ok := e.granter.(counter.AlgoGranter)
	if len(b.sliding) > 0 {
		b.outs[policy.SlidingWindow] = make([]counter.Granted, len(b.sliding))
		errs[policy.SlidingWindow] = counter.ErrUnsupported
		if ok {
			errs[policy.SlidingWindow] = ag.GrantSliding(ctx, now, b.sliding, b.outs[policy.SlidingWindow])
		}
	}
	if len(b.bucket) > 0 {
		b.outs[policy.TokenBucket] = make([]counter.Granted, len(b.bucket))
		errs[policy.TokenBucket] = counter.ErrUnsupported
		if ok {
			errs[policy.TokenBucket] = ag.GrantBucket(ctx, now, b.bucket, b.outs[policy.TokenBucket])
		}
	}
	return e.warnGrant(errs)
}

// warnGrant counts and logs the store's failures (a key's error aside).
func (e *Engine) warnGrant(errs [3]error) [3]error {
	for algo, err := range errs {
		var keyErrs *counter.KeyErrors
		if err != nil && !errors.As(err, &keyErrs) {
			e.st.counterErrors.Inc()
			e.warn("grant leases", "algorithm", policy.Algorithm(algo).String(), "err", err)
		}
	}
	return errs
}

// out is the store's answer to a's grant.
func (b *leaseBatch) out(a leaseAsk) counter.Granted { return b.outs[a.algo][a.j] }

// flow is what a's grant charged and gave back.
func (b *leaseBatch) flow(a leaseAsk) (charge, ret uint64) {
	switch a.algo {
	case policy.SlidingWindow:
		return b.sliding[a.j].Charge, b.sliding[a.j].Return
	case policy.TokenBucket:
		return b.bucket[a.j].Charge, b.bucket[a.j].Return
	}
	return b.fixed[a.j].Charge, b.fixed[a.j].Return
}

// judge fills g's remaining (and retry_after) from the store's answer r,
// and returns the Throttled decision to publish when nothing remains: a
// fixed window until its end; a sliding window or a bucket until a token
// may be granted again, rounded down to the second (a decision must not
// deny past it; none when that is within the second).
func (b *leaseBatch) judge(a leaseAsk, r counter.Granted, g *enginepb.Grant, now time.Time) (Decision, bool) {
	limit := uint64(g.Limit)
	var retry time.Duration
	switch a.algo {
	case policy.FixedWindow:
		// A global key is judged on what every datacenter took: Others
		// is the rest of them at the last contact (0 for the others).
		if total := r.Total + r.Others; total < limit {
			g.Remaining = limit - total
			return Decision{}, false
		}
		return Decision{State: Throttled, WindowEnd: g.WindowEnd, Count: r.Total + r.Others}, true
	case policy.SlidingWindow:
		if r.Used < limit {
			g.Remaining = limit - r.Used
			return Decision{}, false
		}
		sg := b.sliding[a.j]
		retry = slidingRetry(r, limit, now.Sub(time.Unix(sg.WindowStart, 0)), sg.Window)
	case policy.TokenBucket:
		if r.Used < a.burst {
			g.Remaining = a.burst - r.Used
			return Decision{}, false
		}
		bg := b.bucket[a.j]
		retry = time.Duration(float64(bg.Window) / float64(max(bg.Limit, 1)) * float64(r.Used-a.burst+1))
	}
	retry = max(retry, minRetry)
	g.RetryAfterMs = uint32(min((retry+time.Millisecond-1)/time.Millisecond, math.MaxUint32))
	until := now.Add(retry).Unix()
	if until <= now.Unix() {
		return Decision{}, false
	}
	return Decision{State: Throttled, WindowEnd: until, Count: r.Used}, true
}

// slidingRetry is how long, from elapsed time e into a window of length
// win, until a sliding window's estimate falls below limit: r.Total is the
// window's own count and r.Used − r.Total the previous window's part of
// the estimate, which falls linearly to 0 at the window's end.
func slidingRetry(r counter.Granted, limit uint64, e, win time.Duration) time.Duration {
	cur := float64(r.Total)
	target := float64(limit) - 1
	if r.Total >= limit {
		// In the next window this one's count is the previous part:
		// ⌈cur × (1 − f)⌉ ≤ limit − 1 from f = 1 − (limit − 1)/cur.
		return win - e + time.Duration(float64(win)*(1-target/cur))
	}
	left := float64(win - e)
	if left <= 0 {
		return 0
	}
	part := float64(r.Used - r.Total)
	// The part is prev × left/win; it is at most target − cur once
	// left' = left × (target − cur)/part.
	need := left * (target - cur) / part
	return time.Duration(left - need)
}
