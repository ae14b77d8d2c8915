package rlqs

// ledger is one stream's account of one bucket's tokens in one window: what
// was debited from the replica's lease for it and what the client may still
// spend. Envoy reports what it admitted, never what its token bucket holds,
// and a new assignment replaces its bucket only on arrival, so the ledger
// keeps an upper bound on the client's spending and gives back only what
// exceeds it. It never lets the client spend a token that was not debited.
type ledger struct {
	// held is what was debited and neither reported spent nor given back.
	held uint64
	// cur is the current assignment's tokens; prev bounds what the
	// buckets it replaced could still spend when it was sent.
	cur, prev uint64
	// since is what the client reported admitted since cur was sent, and
	// reports how many reports that took.
	since   uint64
	reports int
	settled bool // the replaced buckets are gone: every report counts against cur
}

// reportsToSettle is how many reports after an assignment was sent prove
// the buckets it replaced dead: the first may have crossed it on the wire,
// the second was sent after it arrived (the interval is over 100 ms).
const reportsToSettle = 2

// spendable bounds what the client can still admit on what it was given.
func (g *ledger) spendable() uint64 {
	if g.settled {
		// What cur admitted is at least what the reports say beyond what
		// the replaced buckets could.
		return g.cur - min(g.cur, g.since-min(g.since, g.prev))
	}
	return g.prev + g.cur - min(g.prev+g.cur, g.since)
}

// left estimates what the current assignment has left, as if everything
// reported since it was sent came out of it: low while the buckets it
// replaced were still spending, so a top-up comes early rather than late.
func (g *ledger) left() uint64 { return g.cur - min(g.cur, g.since) }

// report takes a usage report's admitted requests. It returns the tokens to
// give back: those debited beyond what the client can still admit, once the
// replaced buckets are proven dead; and those to charge: admitted beyond
// what was debited (on the filter's no-assignment or expired fallback, or
// on a past window's tokens), which the window must count too.
func (g *ledger) report(allowed uint64) (giveBack, charge uint64) {
	charge = allowed - min(g.held, allowed)
	g.held -= allowed - charge
	g.since += allowed
	g.reports++
	if g.settled || g.reports < reportsToSettle {
		return 0, charge
	}
	g.settled = true
	if s := g.spendable(); g.held > s {
		giveBack = g.held - s
		g.held = s
	}
	return giveBack, charge
}

// assign notes a new assignment of n tokens, debited from the lease.
func (g *ledger) assign(n uint64) {
	g.prev = g.spendable()
	g.cur, g.since, g.reports, g.settled = n, 0, 0, false
	g.held += n
}

// newWindow starts the account of a new window: what was held in the last
// one is not the new window's to give back, though the client may still
// spend it (prev keeps that bound), and the assignment in force has nothing
// left for the new window, so that it is replaced rather than extended.
func (g *ledger) newWindow() {
	g.prev = g.spendable()
	g.held, g.cur, g.since, g.reports, g.settled = 0, 0, 0, 0, false
}

// vanished is what to give back once a client that stopped reporting can no
// longer spend anything (its assignment's TTL is over): what is held, less
// what it likely admitted since its last report (rate × the time since).
func (g *ledger) vanished(unreported uint64) uint64 {
	return g.held - min(g.held, unreported)
}
