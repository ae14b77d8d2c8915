package decisions

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/globallink"
	"github.com/floodgate/floodgate/policy"
)

// datacentersKey is the global tier's sorted set of the datacenters that
// talked to it lately; datacentersTTL is how lately.
const (
	datacentersKey = globallink.MembersSet
	datacentersTTL = 10 * time.Second
)

// globalTier leases a datacenter's share of its global keys from the
// global Redis, one level above the replicas' leases: the datacenter's
// engines grant a global key to their replicas only out of what the
// datacenter holds (its holding, in the datacenter's store, caps their
// grants), and top it up in the background by the datacenter's rate. No
// request waits on the global tier.
type globalTier struct {
	o        GlobalOptions
	e        *Engine
	holdings counter.Holdings
	log      *slog.Logger
	st       globalStats
	kick     chan struct{}
	done     chan struct{}

	mu   sync.Mutex
	keys map[string]*globalKey // by counter key, counter prefix included
	// demand is each key's demand through this engine, by the key without
	// its window (global_demand.go).
	demand map[string]*keyDemand
	link   globalLink
	dcs    int // datacenters in the global tier, this one included
	// lastMembers is when the datacenters were last counted.
	lastMembers time.Time
}

// globalLink is the state of the datacenter's link to the global tier.
type globalLink struct {
	up          bool
	since       time.Time // of the state
	lastContact time.Time
	err         error
}

// globalKey is one global key's window this engine's replicas asked for.
type globalKey struct {
	key         string
	algo        policy.Algorithm // a fixed or a sliding window
	limit       uint64
	windowStart int64
	window      time.Duration
	lastAsk     time.Time
	// short is what grants of this key could not give since the last
	// round, for lack of what the datacenter holds.
	short uint64
	// rate is the datacenter's grants of the key per second, from its
	// local count; used and usedAt are the last reading.
	rate     float64
	used     uint64
	usedAt   time.Time
	gtotal   uint64 // the global count at the last contact
	next     bool   // the next window is followed too
	returned bool   // handed back since its last ask
	state    counter.HoldingState
}

func (k *globalKey) windowEnd() int64 { return k.windowStart + int64(k.window/time.Second) }

type globalStats struct {
	rounds, grants, granted, charged, returned stats.Counter
	errors, fallbacks, keysDropped, stale      stats.Counter
	linkUp, keys, datacenters                  stats.Gauge
}

func newGlobalTier(e *Engine, o GlobalOptions, holdings counter.Holdings, sc stats.Scope) *globalTier {
	sc = sc.Scope("global")
	return &globalTier{
		o: o, e: e, holdings: holdings,
		log:    e.log.With("datacenter", o.Datacenter),
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		keys:   make(map[string]*globalKey),
		demand: make(map[string]*keyDemand),
		link:   globalLink{up: true, since: e.now()},
		dcs:    1,
		st: globalStats{
			rounds:      sc.NewCounter("rounds"),
			grants:      sc.NewCounter("grants"),
			granted:     sc.NewCounter("tokens_granted"),
			charged:     sc.NewCounter("tokens_charged"),
			returned:    sc.NewCounter("tokens_returned"),
			errors:      sc.NewCounter("errors"),
			fallbacks:   sc.NewCounter("fallbacks"),
			keysDropped: sc.NewCounter("keys_dropped"),
			stale:       sc.NewCounter("stale"),
			linkUp:      sc.NewGauge("link_up"),
			keys:        sc.NewGauge("keys"),
			datacenters: sc.NewGauge("datacenters"),
		},
	}
}

// note records an ask for a global key's window, with offered the hits
// its replica spent and denied since its last ask; it returns the holding
// that caps the key's grants.
func (t *globalTier) note(key string, res *policy.Resolved, window time.Duration, now time.Time, offered uint64) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.keys[key]
	if k == nil {
		if len(t.keys) >= t.o.MaxKeys {
			t.st.keysDropped.Inc()
			return counter.HoldingKey(key)
		}
		// Its first grant comes up short and asks at once (shortOf).
		k = &globalKey{key: key, algo: res.Algorithm, limit: uint64(res.RequestsPerUnit), windowStart: res.WindowStart, window: window}
		t.keys[key] = k
	}
	k.lastAsk, k.returned = now, false
	t.offer(k, offered, now)
	return counter.HoldingKey(key)
}

// shortOf records that a grant of key gave want − got less than asked
// while the global limit had tokens left: the datacenter asks at once.
func (t *globalTier) shortOf(key string, missing uint64) {
	t.mu.Lock()
	if k := t.keys[key]; k != nil {
		k.short = min(k.short+missing, k.limit)
	}
	t.mu.Unlock()
	t.kickNow()
}

// capRemaining bounds a global key's remaining by what its datacenter
// holds: a replica restores its overdraft only while the remaining covers
// it, and the holding, not the global limit, is what the datacenter may
// grant. A datacenter whose holding ran out while the global limit has
// tokens left says so for a moment (retry_after: the next rounds), so its
// replicas neither overdraw nor take the key as used up for the window.
func (t *globalTier) capRemaining(g *enginepb.Grant, r counter.Granted) {
	if !r.Capped {
		return
	}
	left := r.Cap - min(r.Cap, r.Total)
	if left >= g.Remaining {
		return
	}
	g.Remaining = left
	if left == 0 && g.Tokens == 0 {
		g.RetryAfterMs = uint32(max(2*t.o.Interval, minRetry) / time.Millisecond)
	}
}

func (t *globalTier) kickNow() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// coldCredit is what the datacenter may grant of a window of limit before
// it holds any of it: ⌊ε·limit / datacenters⌋.
func (t *globalTier) coldCredit(limit uint64) uint64 {
	if t.o.ColdRatio <= 0 {
		return 0
	}
	return uint64(math.Floor(t.o.ColdRatio * float64(limit) / float64(t.datacenters())))
}

// datacenters is how many datacenters share the global tier, at least 1.
func (t *globalTier) datacenters() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(1, t.dcs)
}

// run tops up, hands back and settles every Interval, and at once when a
// grant came up short, until ctx ends.
func (t *globalTier) run(ctx context.Context) {
	defer close(t.done)
	tick := time.NewTicker(t.o.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-t.kick:
		}
		t.round(ctx)
	}
}

// nextKey is the counter key of the window after k's: a key ends in its
// window start, whatever its encoding.
func (k *globalKey) nextKey() string { return k.keyAt(k.windowStart + int64(k.window/time.Second)) }

// prevKey is the counter key of the window before k's.
func (k *globalKey) prevKey() string { return k.keyAt(k.windowStart - int64(k.window/time.Second)) }

func (k *globalKey) keyAt(start int64) string {
	return strings.TrimSuffix(k.key, strconv.FormatInt(k.windowStart, 10)) + strconv.FormatInt(start, 10)
}

// followed picks the keys of this round: those asked for lately (and the
// next window of the busy ones, fetched ahead), and those gone idle that
// still hold tokens; ended windows are forgotten.
func (t *globalTier) followed(now time.Time) (active, idle []*globalKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, k := range t.keys {
		switch {
		case k.windowEnd()+int64(grantGraceSeconds) <= now.Unix(),
			k.returned && now.Sub(k.lastAsk) > 4*t.o.IdleAfter:
			// Ended, or idle and handed back: room for other keys. A key
			// asked for again is followed anew.
			delete(t.keys, key)
		case now.Sub(k.lastAsk) <= t.o.IdleAfter:
			active = append(active, k)
			ahead := min(t.o.Ahead, k.window/2)
			if !k.next && k.rate > 0 && time.Unix(k.windowEnd(), 0).Sub(now) <= ahead && len(t.keys) < t.o.MaxKeys {
				k.next = true
				n := &globalKey{key: k.nextKey(), algo: k.algo, limit: k.limit, windowStart: k.windowEnd(), window: k.window,
					lastAsk: now, rate: k.rate}
				if _, ok := t.keys[n.key]; !ok {
					t.keys[n.key] = n
					active = append(active, n)
				}
			}
		case !k.returned:
			idle = append(idle, k)
		}
	}
	t.forgetDemand(now)
	t.st.keys.Set(uint64(len(t.keys)))
	return active, idle
}

// grantGraceSeconds is how long past its window a key is followed: late
// charges still settle.
const grantGraceSeconds = 2

func (t *globalTier) holding(k *globalKey, op counter.HoldingOp) counter.Holding {
	return counter.Holding{Key: counter.HoldingKey(k.key), CountKey: k.key, WindowEnd: k.windowEnd(), Op: op}
}

// round is one exchange with the global tier: read the holdings, ask for
// what the busy keys need and charge what was spent beyond them, give
// back what the idle keys hold, then settle the answers in the
// datacenter's store. Cut off, the keys fall back to their share.
func (t *globalTier) round(ctx context.Context) {
	now := t.e.now()
	// Every datacenter counts itself in, busy or not: a share is of all.
	// Beside the round's grants, not before them: each is a WAN round trip.
	if t.countDue(now) {
		counted := make(chan struct{})
		go func() { defer close(counted); t.countDatacenters(ctx, now) }()
		defer func() { <-counted }()
	}
	active, idle := t.followed(now)
	if len(active)+len(idle) == 0 {
		return
	}
	t.st.rounds.Inc()
	keys := append(active, idle...)
	hs := make([]counter.Holding, len(keys))
	for i, k := range keys {
		hs[i] = t.holding(k, counter.HoldRead)
	}
	states := make([]counter.HoldingState, len(keys))
	if err := t.hold(ctx, hs, states); err != nil {
		return // the datacenter's store is down: its engines grant nothing anyway
	}
	// Hand back the idle keys' unspent tokens first, in the datacenter's
	// store, so that no engine grants them while they travel.
	var back []int
	for i := len(active); i < len(keys); i++ {
		if s := states[i]; s.Held > s.Used && !s.Fallback {
			hs[i].Op = counter.HoldHandBack
			back = append(back, i)
		} else {
			t.mu.Lock()
			keys[i].returned = true
			t.mu.Unlock()
		}
	}
	if len(back) > 0 {
		bh, bs := make([]counter.Holding, len(back)), make([]counter.HoldingState, len(back))
		for j, i := range back {
			bh[j] = hs[i]
		}
		if t.hold(ctx, bh, bs) != nil {
			back = nil
		}
		for j, i := range back {
			states[i].Returned = bs[j].Returned
		}
	}

	dcs := t.datacenters()
	t.mu.Lock()
	up := t.link.up
	t.mu.Unlock()
	// Cut off, nothing is claimed: the holding keeps its fallback as it
	// is, and the first round after contact (which ends the fallback)
	// leaves the spending beyond held for the next one to claim.
	claims := make([]counter.HoldingState, len(keys))
	if up {
		claims = t.claim(ctx, keys, states)
	}
	var gs []counter.Grant
	var of []int // the key of each grant
	for i, k := range keys {
		g, ok := t.ask(k, states[i], claims[i].Returned, now, dcs, i >= len(active))
		if ok {
			gs, of = append(gs, g), append(of, i)
		}
	}
	if !up {
		// Known cut off: new windows get their share now, not after one
		// more timeout.
		t.cutOff(ctx, nil, now, active, states[:len(active)], dcs)
	}
	if len(gs) == 0 {
		return
	}
	out := make([]counter.Granted, len(gs))
	keyErrs, err := t.grantGlobal(ctx, now, keys, gs, of, out)
	t.st.grants.Inc()
	if err != nil {
		t.cutOff(ctx, err, now, active, states[:len(active)], dcs)
		t.restore(ctx, keys, gs, of, claims, nil)
		return
	}
	t.contact(now)
	var settle []counter.Holding
	var failed []bool
	for j, g := range gs {
		k := keys[of[j]]
		if keyErrs[j] != nil {
			t.st.errors.Inc()
			if failed == nil {
				failed = make([]bool, len(gs))
			}
			failed[j] = true
			continue
		}
		r := out[j]
		switch r.Status {
		case counter.GrantStale:
			t.st.stale.Inc()
			continue
		case counter.GrantEarly:
			continue
		}
		t.mu.Lock()
		k.gtotal, k.short = r.Total, 0
		t.mu.Unlock()
		t.st.granted.Add(r.Tokens)
		t.st.charged.Add(g.Charge)
		t.st.returned.Add(g.Return)
		if g.Return > 0 && r.Tokens == 0 && g.Charge == 0 {
			continue // a hand-back: the holding is settled already
		}
		// The charge moved into held when it was claimed.
		h := t.holding(k, counter.HoldSettle)
		h.Tokens, h.GlobalTotal, h.ClearExtra = r.Tokens, r.Total, states[of[j]].Fallback || states[of[j]].Extra > 0
		settle = append(settle, h)
	}
	if len(settle) > 0 {
		_ = t.hold(ctx, settle, make([]counter.HoldingState, len(settle)))
	}
	if failed != nil {
		t.restore(ctx, keys, gs, of, claims, failed)
	}
}

// claim takes, for each key granted beyond its holding, what is beyond it
// into the holding, atomically in the datacenter's store: of two engines
// of a datacenter only one charges it. Nothing is claimed when the store
// fails.
func (t *globalTier) claim(ctx context.Context, keys []*globalKey, states []counter.HoldingState) []counter.HoldingState {
	claims := make([]counter.HoldingState, len(keys))
	var hs []counter.Holding
	var at []int
	for i, k := range keys {
		if states[i].Used > states[i].Held {
			hs, at = append(hs, t.holding(k, counter.HoldClaim)), append(at, i)
		}
	}
	if len(hs) == 0 {
		return claims
	}
	out := make([]counter.HoldingState, len(hs))
	if t.hold(ctx, hs, out) != nil {
		return claims
	}
	for j, i := range at {
		claims[i] = out[j]
	}
	return claims
}

// grantGlobal sends the round's grants to the global tier in one pipeline
// per algorithm: a sliding window's global count is judged with its
// previous window's, as the datacenters' are. It returns each grant's own
// error, and an error when the global tier did not answer.
func (t *globalTier) grantGlobal(ctx context.Context, now time.Time, keys []*globalKey, gs []counter.Grant, of []int, out []counter.Granted) ([]error, error) {
	keyErrs := make([]error, len(gs))
	var fixed, sliding []int
	for j := range gs {
		if keys[of[j]].algo == policy.SlidingWindow {
			sliding = append(sliding, j)
		} else {
			fixed = append(fixed, j)
		}
	}
	gctx, cancel := context.WithTimeout(ctx, t.o.Timeout)
	defer cancel()
	call := func(idx []int, grant func([]counter.Granted) error) error {
		if len(idx) == 0 {
			return nil
		}
		o := make([]counter.Granted, len(idx))
		err := grant(o)
		var ke *counter.KeyErrors
		if err != nil && !errors.As(err, &ke) {
			return err
		}
		for i, j := range idx {
			out[j] = o[i]
			if err != nil {
				keyErrs[j] = counter.KeyErr(err, i)
			}
		}
		return nil
	}
	err := call(fixed, func(o []counter.Granted) error {
		fg := make([]counter.Grant, len(fixed))
		for i, j := range fixed {
			fg[i] = gs[j]
		}
		return t.o.Store.Grant(gctx, fg, o)
	})
	if err != nil {
		return nil, err
	}
	err = call(sliding, func(o []counter.Granted) error {
		sg := make([]counter.SlidingGrant, len(sliding))
		for i, j := range sliding {
			sg[i] = counter.SlidingGrant{Grant: gs[j], PrevKey: keys[of[j]].prevKey()}
		}
		return t.o.Store.GrantSliding(gctx, now, sg, o)
	})
	return keyErrs, err
}

// ask is what key k, holding s, asks of the global tier this round: tokens
// for its datacenter's rate over the horizon (and what grants came up
// short), the tokens granted beyond the holding (overdrafts, and the
// fallback spent while cut off) as a charge, and an idle key's hand-back
// as a return.
func (t *globalTier) ask(k *globalKey, s counter.HoldingState, charge uint64, now time.Time, dcs int, idle bool) (counter.Grant, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k.state = s
	if !k.usedAt.IsZero() && s.Used >= k.used {
		if dt := now.Sub(k.usedAt).Seconds(); dt > 0 {
			r := float64(s.Used-k.used) / dt
			k.rate = 0.5*k.rate + 0.5*r
		}
	}
	k.used, k.usedAt = s.Used, now
	g := counter.Grant{Key: k.key, Limit: k.limit, WindowStart: k.windowStart, Window: k.window,
		Divisor: uint64(t.e.o.LeaseShare) * uint64(dcs), Ahead: min(t.o.Ahead, k.window/2)}
	// Claimed only in contact, and given back when the round fails.
	g.Charge = charge
	if idle {
		k.returned = true
		g.Return = s.Returned
		t.shareByDemand(k, &g, now, dcs)
		return g, g.Return > 0 || g.Charge > 0
	}
	t.shareByDemand(k, &g, now, dcs)
	cap := s.Held + s.Extra
	available := cap - min(cap, s.Used)
	target := uint64(math.Ceil(k.rate*t.o.Horizon.Seconds())) + k.short
	if k.short > 0 || available == 0 {
		target = max(target, available+1)
	}
	if 2*available < target {
		g.Want = target - available
	}
	// A datacenter back in contact settles its fallback even when it
	// needs nothing more.
	return g, g.Want > 0 || g.Charge > 0 || s.Fallback
}

// hold runs hs on the datacenter's store, counting its failure.
func (t *globalTier) hold(ctx context.Context, hs []counter.Holding, out []counter.HoldingState) error {
	hctx, cancel := context.WithTimeout(ctx, t.e.o.Timeout)
	defer cancel()
	err := t.holdings.Hold(hctx, hs, out)
	if err != nil {
		t.st.errors.Inc()
		t.e.warn("global holdings", "datacenter", t.o.Datacenter, "err", err)
	}
	return err
}

// contact records an answer from the global tier.
func (t *globalTier) contact(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.link.up {
		t.log.Info("global tier reachable again: settling the fallback", "global", t.o.Name, "down_for", now.Sub(t.link.since))
		t.link.up, t.link.since = true, now
	}
	t.link.lastContact, t.link.err = now, nil
	t.st.linkUp.Set(1)
}

// cutOff records that the global tier did not answer and gives every
// active key its fallback share, once per window: (limit − the global
// count at the last contact) / datacenters.
func (t *globalTier) cutOff(ctx context.Context, err error, now time.Time, active []*globalKey, states []counter.HoldingState, dcs int) {
	t.mu.Lock()
	if err != nil {
		t.st.errors.Inc()
		if t.link.up {
			t.log.Warn("global tier unreachable: granting global keys from what the datacenter holds, then its share", "global", t.o.Name, "err", err)
			t.link.up, t.link.since = false, now
		}
		t.link.err = err
		t.st.linkUp.Set(0)
	}
	var hs []counter.Holding
	for i, k := range active {
		if states[i].Fallback {
			continue
		}
		states[i].Fallback = true // once per round
		left := k.limit - min(k.limit, k.gtotal)
		h := t.holding(k, counter.HoldFallback)
		h.Share = (left + uint64(dcs) - 1) / uint64(dcs)
		hs = append(hs, h)
	}
	t.mu.Unlock()
	if len(hs) > 0 {
		t.st.fallbacks.Add(uint64(len(hs)))
		_ = t.hold(ctx, hs, make([]counter.HoldingState, len(hs)))
	}
}

// restore puts back in the datacenter's holdings what the global tier did
// not take (every grant, or those failed marks): idle keys' hand-backs, and
// the claims of charges.
func (t *globalTier) restore(ctx context.Context, keys []*globalKey, gs []counter.Grant, of []int, claims []counter.HoldingState, failed []bool) {
	var hs []counter.Holding
	for j, g := range gs {
		if failed != nil && !failed[j] {
			continue
		}
		if c := claims[of[j]]; c.Returned > 0 {
			h := t.holding(keys[of[j]], counter.HoldUnclaim)
			h.Charged, h.Share = c.Returned, c.FromExtra
			hs = append(hs, h)
		}
		if g.Return > 0 {
			k := keys[of[j]]
			h := t.holding(k, counter.HoldSettle)
			h.Tokens = g.Return
			hs = append(hs, h)
			t.mu.Lock()
			k.returned = false
			t.mu.Unlock()
		}
	}
	if len(hs) > 0 {
		_ = t.hold(ctx, hs, make([]counter.HoldingState, len(hs)))
	}
}

// countDue reports whether the datacenters are to be counted at now, once
// a second, and if so takes the count's turn.
func (t *globalTier) countDue(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastMembers) < time.Second {
		return false
	}
	t.lastMembers = now
	return true
}

// countDatacenters marks this datacenter alive in the global tier, with
// this engine's report of its link (report), and counts those that are,
// once a second: grants are capped at
// remaining / (LeaseShare × datacenters), and a datacenter cut off falls
// back to 1/datacenters of what remained.
func (t *globalTier) countDatacenters(ctx context.Context, now time.Time) {
	mctx, cancel := context.WithTimeout(ctx, t.o.Timeout)
	n, err := t.o.Store.MembersReporting(mctx, datacentersKey, t.o.Datacenter, now, datacentersTTL, t.report(now))
	cancel()
	if err != nil {
		return // the grants say whether the link is down
	}
	t.mu.Lock()
	t.dcs = max(1, n)
	t.mu.Unlock()
	t.st.datacenters.Set(uint64(n))
}
