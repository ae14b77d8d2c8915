package replica

import (
	"context"
	"time"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// spent is how one item was admitted, so that a denied request can give
// its other items' tokens back.
type spent struct {
	l *lease
	n int64
}

// limitLeases admits a request only if every item's tokens can be spent;
// a request denied on one item takes nothing from the others (so the
// limits of one descriptor are charged all or none). A quota item out of
// tokens denies nothing (the service answers it OK), so the request keeps
// what it took from the others. An item that decides itself (a sliding
// window, a token bucket, one of several limits) gets its verdict here.
func (l *Limiter) limitLeases(ctx context.Context, items []*ratelimit.Item) error {
	var buf [4]spent
	taken := buf[:0]
	denied := false
	first := 0 // the first item of the current descriptor
	for i, it := range items {
		if i > 0 && it.Group != items[i-1].Group {
			first = i
		}
		ls := l.leases.get(it, i-first, l.lc.overdraft(leaseLimit(it)))
		if ls == nil {
			l.lc.st.full.Inc()
			if l.down == EngineDownDeny {
				setVerdict(it, nil, false, l.now())
				denied = denied || !it.Quota
			} else {
				setVerdict(it, nil, true, l.now())
			}
			continue
		}
		if l.spend(ctx, ls, int64(it.Hits)) {
			taken = append(taken, spent{ls, int64(it.Hits)})
			setVerdict(it, ls, true, l.now())
			continue
		}
		setVerdict(it, ls, false, l.now())
		denied = denied || !it.Quota
	}
	if denied {
		// The request is denied: what it took stays with the replica, as
		// held tokens, for the requests that follow.
		for _, s := range taken {
			s.l.tokens.Add(s.n)
		}
	}
	return nil
}

// countOf is the window's count fleet-wide as the replica knows it, this
// request's hits included. Before its first grant a replica knows only what
// it admitted itself, on its overdraft or fallback and not yet charged.
func countOf(ls *lease, hits uint64) uint64 {
	if !ls.has(leaseContacted) {
		return max(ls.charge.Load(), hits)
	}
	left := min(ls.globalRemaining(), ls.limit)
	return max(ls.limit-left, hits)
}

func overLimit(it *ratelimit.Item) uint64 {
	return policy.AddHits(uint64(it.RequestsPerUnit), max(it.Hits, 1))
}

// spend takes n tokens of ls: from those held (the hot path: one atomic
// step), else from its cold-key overdraft, else it waits a bounded time for
// a grant; an engine that cannot answer leaves it to the fallback.
func (l *Limiter) spend(ctx context.Context, ls *lease, n int64) bool {
	if take(&ls.tokens, n) {
		l.spent(ls, n)
		return true
	}
	if ls.usedUp(l.now()) {
		return l.deniedExhausted(ls, n)
	}
	if !ls.has(leaseContacted) {
		if d, ok := l.cache.Lookup(ls.key, l.now().Unix()); ok && d.State == decisions.Throttled {
			return l.deniedExhausted(ls, n) // used up elsewhere: no need to ask
		}
	}
	if !l.lc.connected() {
		l.awaitFirstEngine(ctx)
	}
	if ls.has(leaseUnavailable) || !l.lc.connected() {
		l.lc.queue(ls, false) // so that an engine's return ends the fallback
		return l.fallback(ls, n)
	}
	if l.overdraw(ls, n) {
		return true
	}
	l.lc.st.waits.Inc()
	ls.waiting.Add(n)
	defer ls.waiting.Add(-n)
	wait := time.NewTimer(waitWithin(ctx, l.leaseOpts.Wait))
	defer wait.Stop()
	for {
		ch := ls.waitChan()
		l.lc.queue(ls, true)
		select {
		case <-ch:
		case <-wait.C:
			// An engine that answers this slowly is still counting: deny
			// rather than guess, so the limit holds.
			l.lc.st.waitTimeouts.Inc()
			ls.refused.Add(uint64(max(n, 0)))
			return false
		case <-ctx.Done():
			return false
		}
		if take(&ls.tokens, n) {
			l.spent(ls, n)
			return true
		}
		if ls.usedUp(l.now()) {
			return l.deniedExhausted(ls, n)
		}
		if ls.has(leaseUnavailable) {
			return l.fallback(ls, n)
		}
		if l.overdraw(ls, n) { // the answer restored the credit
			return true
		}
	}
}

// overdraw admits n on ls's overdraft, to be charged with its next ask.
func (l *Limiter) overdraw(ls *lease, n int64) bool {
	if !take(&ls.overdraft, n) {
		return false
	}
	ls.charge.Add(uint64(n))
	l.lc.st.overdrawn.Add(uint64(n))
	l.spent(ls, n)
	// Asked at the next interval, with the other keys: a request that
	// finds no overdraft left asks at once.
	l.lc.queue(ls, false)
	return true
}

// awaitFirstEngine waits, at most the lease wait, for the first engine
// stream of a replica started less than firstEngineGrace ago: one just
// started should not answer from the fallback while its streams open, and
// one whose engines are down from the start should not make every request
// wait.
func (l *Limiter) awaitFirstEngine(ctx context.Context) {
	select {
	case <-l.lc.firstUp:
		return
	default:
	}
	if time.Since(l.lc.started) > firstEngineGrace {
		return
	}
	t := time.NewTimer(waitWithin(ctx, l.leaseOpts.Wait))
	defer t.Stop()
	select {
	case <-l.lc.firstUp: // closed once its stream says it is up
	case <-t.C:
	case <-ctx.Done():
	}
}

const firstEngineGrace = time.Second

// waitWithin is how long a request may wait for a grant: wait, cut short
// so that the answer reaches the caller before its deadline with a margin
// (a quarter of what is left, at least answerMargin). Envoy's filter gives
// up at its timeout (20ms by default) and, failing open by default, admits
// the request: an answer that comes too late is an admit nobody counted.
func waitWithin(ctx context.Context, wait time.Duration) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return wait
	}
	left := time.Until(d)
	return min(wait, max(left-max(left/4, answerMargin), 0))
}

// answerMargin is the least time kept to send an answer before the
// caller's deadline.
const answerMargin = 3 * time.Millisecond

// spent notes n tokens spent: for the key's rate, its idleness, and its
// low watermark.
func (l *Limiter) spent(ls *lease, n int64) {
	ls.used.Add(uint64(n))
	if e := l.epoch.Load(); ls.epoch.Load() != e {
		ls.epoch.Store(e)
	}
	if ls.tokens.Load() < ls.low.Load() && !ls.queued.Load() {
		// Half a horizon of tokens is left: the next interval is soon
		// enough, and batches this key's ask with the others'.
		l.lc.queue(ls, false)
	}
}

func (l *Limiter) deniedExhausted(ls *lease, n int64) bool {
	ls.denied.Add(1)
	ls.refused.Add(uint64(max(n, 0)))
	l.lc.st.exhausted.Inc()
	return false
}

// fallback answers while no engine can grant: the share of what remained
// at the last grant for this replica (or of the limit, for a key never
// granted), the limit itself (allow), or nothing (deny). What it admits is
// charged once an engine answers again.
func (l *Limiter) fallback(ls *lease, n int64) bool {
	var ceiling uint64
	switch l.down {
	case EngineDownDeny:
		l.lc.st.fallbackDenied.Inc()
		return false
	case EngineDownAllow:
		ceiling = ls.limit
	default:
		if ls.has(leaseContacted) {
			ceiling = ls.remaining.Load() / uint64(max(1, ls.holders.Load()))
		} else {
			ceiling = ls.limit / uint64(max(1, l.lc.replicas.Load(), uint32(l.leaseOpts.MaxReplicas)))
		}
	}
	if !takeUpTo(&ls.fallback, uint64(n), ceiling) {
		l.lc.st.fallbackDenied.Inc()
		return false
	}
	ls.charge.Add(uint64(n))
	l.lc.st.fallback.Add(uint64(n))
	return true
}

// sweepLeases drops ended windows, gives back the tokens of keys idle for a
// sweep period, and asks again for exhausted keys still in demand (tokens
// may have come back) and for charges waiting for an engine.
func (l *Limiter) sweepLeases() {
	e := l.epoch.Add(1)
	l.lc.forgetReplicas()
	connected := l.lc.connected()
	l.leases.sweep(l.now().Unix(), func(ls *lease, ended bool) {
		if ended {
			if ls.algo == policy.TokenBucket && connected {
				// A bucket's lease lapsed: its tokens go back to the
				// bucket, and its charge to the count.
				ls.returning.Add(uint64(ls.takeHeld()))
				if ls.returning.Load() > 0 || ls.charge.Load() > 0 {
					l.lc.queue(ls, false)
				}
				return
			}
			l.lc.st.stranded.Add(uint64(ls.takeHeld()))
			return
		}
		if !connected {
			return
		}
		switch {
		case ls.epoch.Load() < e-1 && ls.held() > 0:
			if t := ls.takeHeld(); t > 0 {
				ls.returning.Add(uint64(t))
				l.lc.queue(ls, false)
			}
		case ls.has(leaseExhausted) && ls.denied.Swap(0) > 0,
			ls.charge.Load() > 0,
			ls.has(leaseUnavailable):
			l.lc.queue(ls, false)
		}
	})
}

// returnAll gives back every token held, for a replica that stops. A
// grant in flight comes back with tokens after the first pass: the passes go
// on until no ask is in flight, for at most closeDrain and ctx's deadline.
func (l *Limiter) returnAll(ctx context.Context) {
	deadline := time.Now().Add(closeDrain)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for {
		l.leases.sweep(l.now().Unix(), func(ls *lease, ended bool) {
			if t := ls.takeHeld(); t > 0 && !ended {
				ls.returning.Add(uint64(t))
				l.lc.queue(ls, true)
			}
		})
		if l.lc.idle() || time.Now().After(deadline) || !l.lc.connected() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeDrain bounds how long a stopping replica waits for its last grants
// so that it can give their tokens back.
const closeDrain = time.Second
