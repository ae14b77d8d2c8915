package replica

import (
	"sync/atomic"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/ratelimit"
)

// Hold is one key's lease as a holder outside the replica sees it: an Envoy
// RLQS stream, which takes tokens the engines granted this replica and
// hands them to Envoy's own token bucket. What a holder takes is spent as
// far as the replica is concerned (it feeds the key's rate, so the
// replica's asks follow the holder's demand); what it gives back is held
// again, for the replica's requests and the other holders. ShouldRateLimit
// callers and holders of a key on one replica thus share one count.
type Hold struct {
	l  *Limiter
	ls *lease
}

// Hold returns it's lease, making it if needed; false when the limiter
// grants no leases (report mode) or its table is full. index is which limit
// of its descriptor's rate_limits it is (0 for rate_limit).
func (l *Limiter) Hold(it *ratelimit.Item, index int) (Hold, bool) {
	if l.lc == nil {
		return Hold{}, false
	}
	// The lease keeps the replica's own overdraft credit for its requests;
	// a holder never draws on it: it waits for granted tokens, so that what
	// it hands out is always debited first.
	ls := l.leases.get(it, index, l.lc.overdraft(leaseLimit(it)))
	if ls == nil {
		l.lc.st.full.Inc()
		return Hold{}, false
	}
	return Hold{l: l, ls: ls}, true
}

// Need asks the engines, at once, for what n tokens lack over those held.
// It returns the channel closed when the ask is answered, nil when n are
// held. Take after it takes them; Need and Take pair up, as n is counted as
// waiting between them.
func (h Hold) Need(n uint64) <-chan struct{} {
	if h.ls.held() >= n || h.Exhausted() {
		return nil
	}
	h.ls.waiting.Add(int64(n))
	h.ls.holdWaiting.Add(int64(n))
	ch := h.ls.waitChan()
	h.l.lc.queue(h.ls, true)
	return ch
}

// Take spends up to n of the tokens held and says how many, after Need(n).
func (h Hold) Take(n, needed uint64) uint64 {
	if needed > 0 {
		h.ls.waiting.Add(-int64(needed))
		h.ls.holdWaiting.Add(-int64(needed))
	}
	want := int64(min(n, 1<<62))
	got := takeMost(&h.ls.reserved, want)
	got += takeMost(&h.ls.tokens, want-got)
	if got > 0 {
		h.l.spent(h.ls, got)
	}
	return uint64(got)
}

// Give puts n tokens taken earlier back in the lease, unless its window is
// over (they count for nothing then).
func (h Hold) Give(n uint64) {
	if n == 0 || h.l.now().Unix() >= h.ls.windowEnd {
		return
	}
	h.ls.tokens.Add(int64(min(n, 1<<62)))
}

// Charge counts n admitted without tokens (by a holder's fallback) against
// the key's window, with the lease's next ask, as the replica's own
// overdraft is.
func (h Hold) Charge(n uint64) {
	if n == 0 {
		return
	}
	h.ls.charge.Add(n)
	h.l.lc.queue(h.ls, false)
}

// Exhausted reports the key's window used up fleet-wide: by the engines'
// last answer to this replica, or by their decision.
func (h Hold) Exhausted() bool {
	if h.ls.has(leaseExhausted) {
		return true
	}
	d, ok := h.l.cache.Lookup(h.ls.key, h.l.now().Unix())
	return ok && d.State == decisions.Throttled && h.ls.held() == 0
}

// Held is how many tokens the replica holds for the key now: tokens given
// back by other holders may refill a key the engines called used up.
func (h Hold) Held() uint64 { return h.ls.held() }

// Denied notes demand the holder denied on a used-up key, so that the
// replica asks the engines again (tokens may have come back) at its next
// sweep, as for its own denied requests.
func (h Hold) Denied() { h.ls.denied.Add(1); h.ls.refused.Add(1) }

// Unavailable reports that no engine answered the key's last ask.
func (h Hold) Unavailable() bool { return h.ls.has(leaseUnavailable) || !h.l.lc.connected() }

// WindowEnd is when the lease's window ends, Unix seconds.
func (h Hold) WindowEnd() int64 { return h.ls.windowEnd }

// Key is the lease's counter key, window included.
func (h Hold) Key() string { return h.ls.key }

// takeMost takes up to n from c and returns what it took.
func takeMost(c *atomic.Int64, n int64) int64 {
	for {
		t := c.Load()
		got := min(t, n)
		if got <= 0 {
			return 0
		}
		if c.CompareAndSwap(t, t-got) {
			return got
		}
	}
}

// Leasing reports whether the limiter grants leases (lease mode), so that
// holders outside it can draw on them.
func (l *Limiter) Leasing() bool { return l.lc != nil }
