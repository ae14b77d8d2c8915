package replica

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/policy"
)

// lease is one key's window as this replica holds it: the tokens the
// engines debited for it and this replica has not spent yet. Spending is
// atomic on the entry; everything that needs the network goes through the
// lease client's queue.
type lease struct {
	key       string
	ask       enginepb.LeaseAsk // the descriptor, as the engine resolves it
	windowEnd int64
	window    int64  // its length, seconds
	limit     uint64 // a token bucket's: its burst, the most it holds
	// algo is how the limit counts. A sliding window's lease is per window
	// as a fixed window's is; a token bucket's is per key, with no window
	// (windowEnd is never), and lapses at lapses (Unix seconds), which each
	// grant moves on.
	algo   policy.Algorithm
	lapses atomic.Int64
	// retryAt (Unix nanoseconds) is when a used-up sliding window or
	// bucket may be granted a token again: its estimate falls and its
	// bucket refills; 0 for a fixed window, used up until its end.
	retryAt atomic.Int64
	// sync marks a key whose limit is too small to split (no overdraft):
	// each request waits for exactly its tokens, and none is held ahead.
	// A key first seen before the replica knew the fleet stays sync for
	// that window: a fleet counted too small would split it too finely.
	sync bool

	tokens atomic.Int64 // held and unspent
	// reserved are tokens granted for holders outside the replica (RLQS
	// streams) that asked and wait for them, kept from the replica's own
	// requests, which would otherwise spend a grant the moment it lands;
	// holdWaiting is what those holders wait for.
	reserved    atomic.Int64
	holdWaiting atomic.Int64
	// credit is d, what the replica may admit of the key ahead of its
	// charge; overdraft is what is left of it. A grant that leaves at least
	// d in the window restores it: each replica then has at most d
	// admitted and not yet charged, so a window ends at most N·d over.
	credit    int64
	overdraft atomic.Int64
	charge    atomic.Uint64 // admitted without tokens, not yet charged
	returning atomic.Uint64 // unspent tokens to give back
	used      atomic.Uint64 // spent since the last ask
	fallback  atomic.Uint64 // admitted by the engine-down fallback
	remaining atomic.Uint64 // the window's tokens nobody held at the last grant
	holders   atomic.Uint32 // replicas holding the key at the last grant
	flags     atomic.Uint32
	queued    atomic.Bool  // waiting in the ask queue or in flight
	ahead     atomic.Bool  // the next window's lease is made
	epoch     atomic.Int64 // the sweep epoch of its last spend
	low       atomic.Int64 // ask again when fewer tokens are held
	denied    atomic.Uint64
	// refused is the hits denied for want of tokens since the last ask:
	// reported with it, as the key's demand the engines did not meet.
	refused atomic.Uint64
	waiting atomic.Int64 // hits of the requests waiting for a grant

	mu      sync.Mutex
	replied chan struct{} // closed when the queued ask is answered

	// Owned by the lease client's loop.
	rate    float64 // tokens per second, smoothed
	lastAsk time.Time
}

const (
	leaseContacted   uint32 = 1 << iota // an engine answered for this window
	leaseExhausted                      // the window is used up
	leaseUnavailable                    // the last ask failed: fall back
)

func (l *lease) has(f uint32) bool { return l.flags.Load()&f != 0 }

func (l *lease) set(f uint32, on bool) {
	for {
		old := l.flags.Load()
		nw := old &^ f
		if on {
			nw |= f
		}
		if old == nw || l.flags.CompareAndSwap(old, nw) {
			return
		}
	}
}

// take spends n from c if it holds that many; the request path's one
// atomic step.
func take(c *atomic.Int64, n int64) bool {
	for {
		t := c.Load()
		if t < n {
			return false
		}
		if c.CompareAndSwap(t, t-n) {
			return true
		}
	}
}

// takeUpTo adds n to c if the sum stays within max.
func takeUpTo(c *atomic.Uint64, n, max uint64) bool {
	for {
		t := c.Load()
		if t+n > max || t+n < t {
			return false
		}
		if c.CompareAndSwap(t, t+n) {
			return true
		}
	}
}

// waitChan returns the channel closed when the ask queued for l is
// answered.
func (l *lease) waitChan() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.replied == nil {
		l.replied = make(chan struct{})
	}
	return l.replied
}

// wake tells the requests waiting on l's ask that it is answered.
func (l *lease) wake() {
	l.mu.Lock()
	ch := l.replied
	l.replied = nil
	l.mu.Unlock()
	l.queued.Store(false)
	if ch != nil {
		close(ch)
	}
}

// want sizes the next grant: the smoothed rate over the horizon, at least
// one token, at most the limit.
func (l *lease) want(now time.Time, used uint64, horizon time.Duration) uint64 {
	if !l.lastAsk.IsZero() {
		if dt := now.Sub(l.lastAsk).Seconds(); dt > 0 {
			r := float64(used) / dt
			if l.rate == 0 {
				l.rate = r
			} else {
				l.rate = 0.5*l.rate + 0.5*r
			}
		}
	}
	l.lastAsk = now
	w := math.Ceil(l.rate * horizon.Seconds())
	if w < float64(used) { // no rate yet: what the first moments took
		w = float64(used)
	}
	return uint64(min(max(w, 1), float64(l.limit)))
}

// apply takes an engine's answer, at now, to the ask queued for l.
func (l *lease) apply(g *enginepb.Grant, now time.Time) {
	switch g.GetStatus() {
	case enginepb.Grant_OK:
		n := int64(min(g.GetTokens(), math.MaxInt32))
		if r := min(n, max(0, l.holdWaiting.Load())); r > 0 {
			l.reserved.Add(r)
			n -= r
		}
		l.tokens.Add(n)
		if l.credit > 0 && g.GetRemaining() >= uint64(l.credit) {
			l.overdraft.Store(l.credit)
		}
		l.remaining.Store(g.GetRemaining())
		l.holders.Store(max(1, g.GetHolders()))
		l.set(leaseContacted, true)
		l.set(leaseUnavailable, false)
		used := g.GetTokens() == 0 && g.GetRemaining() == 0
		if used && g.GetRetryAfterMs() > 0 {
			l.retryAt.Store(now.Add(time.Duration(g.GetRetryAfterMs()) * time.Millisecond).UnixNano())
		}
		if l.algo == policy.TokenBucket && g.GetWindowEnd() > 0 {
			l.lapses.Store(g.GetWindowEnd())
		}
		l.set(leaseExhausted, used)
	case enginepb.Grant_STALE:
		// The window is over by the store's clock: nothing more to admit.
		l.set(leaseExhausted, true)
	default: // UNAVAILABLE, UNMATCHED: the engine cannot count this key
		l.set(leaseUnavailable, true)
	}
	l.wake()
}

// usedUp reports whether l has nothing left to grant at now: a fixed
// window until its end, a sliding window or a bucket until its retry time.
func (l *lease) usedUp(now time.Time) bool {
	if !l.has(leaseExhausted) {
		return false
	}
	at := l.retryAt.Load()
	return at == 0 || now.UnixNano() < at
}

// ended reports whether l's window has ended (a bucket's lease: lapsed)
// at nowUnix.
func (l *lease) ended(nowUnix int64) bool {
	if l.algo == policy.TokenBucket {
		return l.lapses.Load() <= nowUnix
	}
	return l.windowEnd <= nowUnix
}

// fail takes an ask no engine answered: its charge waits for the next ask.
func (l *lease) fail(charge uint64) {
	l.charge.Add(charge)
	l.set(leaseUnavailable, true)
	l.wake()
}

// globalRemaining is what the window has left fleet-wide as this replica
// knows it: nobody's at the last grant, plus what it holds.
func (l *lease) globalRemaining() uint64 {
	return l.remaining.Load() + l.held()
}

// held is every token the replica holds for the key, reserved included.
func (l *lease) held() uint64 {
	return uint64(max(0, l.tokens.Load())) + uint64(max(0, l.reserved.Load()))
}

// takeHeld takes every token held, reserved included, for a return.
func (l *lease) takeHeld() int64 {
	return max(0, l.tokens.Swap(0)) + max(0, l.reserved.Swap(0))
}
