package rlqs

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlqsv3 "github.com/envoyproxy/go-control-plane/envoy/service/rate_limit_quota/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// stream is one Envoy's RLQS stream: its buckets and what it was assigned.
type stream struct {
	s  *Server
	ss rlqsv3.RateLimitQuotaService_StreamRateLimitQuotasServer

	sendMu sync.Mutex
	mu     sync.Mutex // buckets: the stream's loop, and Stop
	// buckets by bucketKey; owned by the stream's loop but for Stop.
	buckets map[string]*bucket
	// interval is the client's reporting interval as the server sees it.
	interval   time.Duration
	lastReport time.Time
	snap       *policy.Snapshot // the policies its buckets were last checked against
}

// bucket is one BucketId of a stream.
type bucket struct {
	id     *rlqsv3.BucketId
	domain string
	// ruled: it matched a counted rule, so that losing it abandons it.
	ruled bool
	// accts count the rule's limits, one each.
	accts     []account
	rate      float64 // requests a second, allowed and denied: up at once, down smoothed
	admitRate float64 // requests allowed a second, smoothed
	lastSeen  time.Time

	action *bucketAction // the assignment in force
	sent   time.Time     // when it was last sent
	ttl    time.Duration
	odd    bool // the fill interval's nanos of the last token bucket
}

// send writes resp; Stop and the stream's loop both send.
func (st *stream) send(resp *rlqsv3.RateLimitQuotaResponse) error {
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	return st.ss.Send(resp)
}

// detach empties the stream's buckets and returns them.
func (st *stream) detach() []*bucket {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]*bucket, 0, len(st.buckets))
	for _, b := range st.buckets {
		out = append(out, b)
	}
	clear(st.buckets)
	return out
}

// expireAll sends every assignment in force again with a TTL of 0.
func (st *stream) expireAll() {
	resp := &rlqsv3.RateLimitQuotaResponse{}
	st.mu.Lock()
	for _, b := range st.buckets {
		if b.action != nil {
			if a := expired(b.action); a != nil {
				resp.BucketAction = append(resp.BucketAction, a)
			}
		}
	}
	st.mu.Unlock()
	if len(resp.BucketAction) > 0 {
		_ = st.send(resp)
	}
}

// topUp is a bucket waiting for the engines' grants within a report: want
// tokens from each of its limits' leases.
type topUp struct {
	b     *bucket
	want  uint64
	parts []part // one per account
}

// part is what one limit's lease gave a topUp.
type part struct {
	got    uint64
	needed uint64 // counted as waiting on the lease until the next Take
	ch     <-chan struct{}
}

// got is what every limit gave: the tokens the bucket can be assigned.
func (up *topUp) got() uint64 {
	var got uint64
	for i, p := range up.parts {
		if i == 0 || p.got < got {
			got = p.got
		}
	}
	return got
}

// timing is the stream's reporting interval, the server's default until
// its reports show it, and the TTL of the assignments made for it: two
// intervals and a second, so that one late report does not expire them.
func (st *stream) timing() (interval, ttl time.Duration) {
	interval = st.interval
	if interval <= 0 {
		interval = st.s.o.Interval
	}
	return interval, wholeSeconds(2*interval + time.Second)
}

// report takes one usage report and returns the assignments to send.
func (st *stream) report(r *rlqsv3.RateLimitQuotaUsageReports) *rlqsv3.RateLimitQuotaResponse {
	s := st.s
	now := s.o.Now()
	if !st.lastReport.IsZero() {
		if dt := now.Sub(st.lastReport); dt > 0 {
			if st.interval == 0 {
				st.interval = dt
			} else {
				st.interval = (st.interval + dt) / 2
			}
		}
	}
	st.lastReport = now
	interval, ttl := st.timing()
	s.st.reports.Inc()

	resp := &rlqsv3.RateLimitQuotaResponse{}
	var ups []topUp
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, u := range r.GetBucketQuotaUsages() {
		if up, ok := st.usage(resp, r.GetDomain(), u, now, interval, ttl); ok {
			ups = append(ups, up)
		}
	}
	st.gather(ups)
	for _, up := range ups {
		st.assign(resp, up, ttl, now)
	}
	return resp
}

// usage takes one bucket's usage: it settles the bucket's tokens, and adds
// to resp the assignment it needs, or returns the top-up to ask its lease
// for.
func (st *stream) usage(resp *rlqsv3.RateLimitQuotaResponse, domain string, u *rlqsv3.RateLimitQuotaUsageReports_BucketQuotaUsage,
	now time.Time, interval, ttl time.Duration) (topUp, bool) {
	id := u.GetBucketId()
	if len(id.GetBucket()) == 0 {
		return topUp{}, false
	}
	s := st.s
	k := bucketKey(id)
	b := st.buckets[k]
	if b == nil {
		b = &bucket{id: id, domain: domain}
		st.buckets[k] = b
		s.st.buckets.Inc()
	}
	allowed, denied := u.GetNumRequestsAllowed(), u.GetNumRequestsDenied()
	s.st.allowed.Add(allowed)
	s.st.denied.Add(denied)
	b.observe(now, u, interval)
	items, ok := s.items(domain, id, now)
	limits := enforced(items)
	st.settle(b, limits, allowed)

	switch {
	case !ok && b.ruled:
		// Its rule is gone: Envoy forgets the bucket, and makes it
		// again, under whatever applies then, at its next request.
		resp.BucketAction = append(resp.BucketAction, abandon(id))
		s.st.abandoned.Inc()
		delete(st.buckets, k)
		s.st.buckets.Dec()
		return topUp{}, false
	case !ok:
		s.st.unmatched.Inc()
		st.blanket(resp, b, s.o.NoRule, ttl, now)
		return topUp{}, false
	}
	b.ruled = true
	if zero(items) {
		st.blanket(resp, b, typev3.RateLimitStrategy_DENY_ALL, ttl, now)
		return topUp{}, false
	}
	if len(limits) == 0 {
		// Quota and shadow limits are reported, never denied: as
		// ShouldRateLimit answers them.
		st.blanket(resp, b, typev3.RateLimitStrategy_ALLOW_ALL, ttl, now)
		return topUp{}, false
	}
	for i := range b.accts {
		a := &b.accts[i]
		if a.deny && a.hold.Held() > 0 {
			a.deny = false // tokens came back to the lease: the window goes on
		}
		if a.deny {
			a.hold.Denied()
		}
	}
	if !b.leased() || b.denied() {
		st.extend(resp, b, now)
		return topUp{}, false
	}
	// Enough left for the next interval at the bucket's rate: the
	// assignment in force only needs its TTL extended. A new one would
	// replace Envoy's bucket and the tokens left in it, which come back
	// only once reports prove them unspent.
	if b.spending() &&
		float64(b.left()) >= b.rate*interval.Seconds() {
		st.extend(resp, b, now)
		return topUp{}, false
	}
	return st.topUp(b, now, interval), true
}

// topUp asks b's lease for two intervals of demand, but no more than the
// window has time left to spend: tokens still in Envoy's bucket when the
// window ends are taken from it then (turnover).
func (st *stream) topUp(b *bucket, now time.Time, interval time.Duration) topUp {
	horizon := min(2*interval, time.Unix(b.windowEnd(), 0).Sub(now))
	want := uint64(max(1, math.Ceil(b.rate*horizon.Seconds())))
	up := topUp{b: b, want: want, parts: make([]part, len(b.accts))}
	for i := range b.accts {
		p := &up.parts[i]
		if p.ch = b.accts[i].hold.Need(want); p.ch != nil {
			p.needed = want
		}
	}
	return up
}

// waiting reports whether a limit's lease has yet to answer up.
func (up *topUp) waiting() bool {
	for _, p := range up.parts {
		if p.ch != nil {
			return true
		}
	}
	return false
}

// giveBack puts back in each limit's lease what it gave beyond keep.
func (up *topUp) giveBack(keep uint64) {
	for i, p := range up.parts {
		up.b.accts[i].hold.Give(p.got - min(p.got, keep))
	}
}

// take takes for each limit what its lease holds of up's want.
func (up *topUp) take() {
	for i := range up.parts {
		p := &up.parts[i]
		p.got += up.b.accts[i].hold.Take(up.want-min(up.want, p.got), p.needed)
		p.ch, p.needed = nil, 0
	}
}

// settle takes what Envoy reported admitted on b, for each of its limits:
// tokens it can no longer spend go back to the window they were debited
// from (none, once it is over), what it admitted beyond them is counted in
// the window in force. A limit of a new window gets that window's lease;
// a rule whose limits changed gets new accounts.
func (st *stream) settle(b *bucket, limits []limit, allowed uint64) {
	if len(limits) != len(b.accts) {
		if len(b.accts) > 0 {
			// The old limits' leases count what was admitted.
			for i := range b.accts {
				st.settleAccount(&b.accts[i], nil, allowed)
			}
			allowed = 0
		}
		b.accts = make([]account, len(limits))
	}
	for i := range b.accts {
		st.settleAccount(&b.accts[i], &limits[i], allowed)
	}
}

// settleAccount settles one limit's account; it is nil for a limit the
// rule no longer has, whose lease takes only what comes back and what was
// admitted beyond it.
func (st *stream) settleAccount(a *account, l *limit, allowed uint64) {
	s := st.s
	back, charge := a.ledger.report(allowed)
	was, wasLeased := a.hold, a.leased
	if l != nil {
		st.startWindow(a, l)
	}
	if wasLeased {
		was.Give(back)
		s.st.tokensReturned.Add(back)
	}
	switch {
	case l != nil && a.leased:
		a.hold.Charge(charge)
		s.st.tokensCharged.Add(charge)
	case wasLeased:
		was.Charge(charge)
		s.st.tokensCharged.Add(charge)
	}
}

// startWindow moves an account to l's window when that is a new one (or
// l's key another): a new lease, and nothing of the last window's left to
// spend.
func (st *stream) startWindow(a *account, l *limit) {
	end := accountEnd(&l.Item)
	if a.leased && end == a.windowEnd && a.hold.Key() == l.Key {
		return
	}
	a.ledger.newWindow()
	a.windowEnd, a.deny = end, false
	a.hold, a.leased = st.s.o.Leases.Hold(&l.Item, l.index)
	if !a.leased {
		st.s.st.unavailable.Inc()
	}
}

// grantRounds bounds the asks one report makes for a bucket: a grant is
// capped to a share of what the window has left (it shrinks as the window
// runs out), so a bucket that got less than it wants asks again at once,
// within the server's Wait, rather than at the next report.
const grantRounds = 4

// gather fills ups with the tokens their leases have, asking the engines
// in rounds, all within the server's Wait.
func (st *stream) gather(ups []topUp) {
	deadline := time.NewTimer(st.s.o.Wait)
	defer deadline.Stop()
	expired := false
	for round := 1; ; round++ {
		for _, up := range ups {
			for _, p := range up.parts {
				if p.ch == nil || expired {
					continue
				}
				select {
				case <-p.ch:
				case <-deadline.C:
					expired = true
				case <-st.ss.Context().Done():
					expired = true
				}
			}
		}
		more := false
		for i := range ups {
			up := &ups[i]
			up.take()
			if up.got() >= up.want || expired || round == grantRounds || up.b.exhausted() {
				continue
			}
			for j := range up.parts {
				p := &up.parts[j]
				if p.got < up.want {
					if p.ch = up.b.accts[j].hold.Need(up.want - p.got); p.ch != nil {
						p.needed = up.want - p.got
					}
				}
			}
			more = true
		}
		if !more {
			return
		}
	}
}

// assign gives up's bucket what every limit's lease gave (the rest goes
// back to the leases that gave more): a new token bucket, DENY_ALL until
// the window ends when a limit is used up, or else more time for the
// assignment in force.
func (st *stream) assign(resp *rlqsv3.RateLimitQuotaResponse, up topUp, ttl time.Duration, now time.Time) {
	s, b, got := st.s, up.b, up.got()
	up.giveBack(got)
	switch {
	case got > 0:
		b.assigned(got)
		b.odd = !b.odd
		b.set(resp, tokenBucket(b.id, got, ttl, b.odd), ttl, now)
		s.st.tokenBuckets.Inc()
		s.st.tokensAssigned.Add(got)
	case b.exhausted():
		b.assigned(0)
		var until int64
		for i := range b.accts {
			if a := &b.accts[i]; a.hold.Exhausted() {
				a.deny = true
				if until == 0 || a.windowEnd < until {
					until = a.windowEnd
				}
			}
		}
		d := time.Unix(until, 0).Sub(now)
		b.set(resp, blanket(b.id, typev3.RateLimitStrategy_DENY_ALL, d), wholeSeconds(d), now)
		s.st.denyAll.Inc()
	default:
		// No grant in time (an engine slow or down): the client keeps what
		// it has, and falls back at the TTL if none comes.
		for i := range b.accts {
			if b.accts[i].hold.Unavailable() {
				s.st.unavailable.Inc()
				break
			}
		}
		st.extend(resp, b, now)
	}
}

// blanket assigns rule, or extends it when it is in force.
func (st *stream) blanket(resp *rlqsv3.RateLimitQuotaResponse, b *bucket, rule typev3.RateLimitStrategy_BlanketRule, ttl time.Duration, now time.Time) {
	if cur := b.action.GetQuotaAssignmentAction().GetRateLimitStrategy(); cur != nil && cur.GetTokenBucket() == nil && cur.GetBlanketRule() == rule && !b.denied() {
		st.extend(resp, b, now)
		return
	}
	b.assigned(0)
	for i := range b.accts {
		b.accts[i].deny = false
	}
	b.set(resp, blanket(b.id, rule, ttl), ttl, now)
	if rule == typev3.RateLimitStrategy_DENY_ALL {
		st.s.st.denyAll.Inc()
	} else {
		st.s.st.allowAll.Inc()
	}
}

// extend sends the assignment in force again once half its TTL is gone:
// Envoy restarts its TTL and keeps its token bucket as it is.
func (st *stream) extend(resp *rlqsv3.RateLimitQuotaResponse, b *bucket, now time.Time) {
	if b.action == nil || b.denied() || now.Sub(b.sent) < b.ttl/2 {
		return
	}
	b.sent = now
	resp.BucketAction = append(resp.BucketAction, b.action)
	st.s.st.extended.Inc()
}

func (b *bucket) set(resp *rlqsv3.RateLimitQuotaResponse, a *bucketAction, ttl time.Duration, now time.Time) {
	b.action, b.ttl, b.sent = a, ttl, now
	resp.BucketAction = append(resp.BucketAction, a)
}

// observe takes a report's demand: allowed and denied requests over the
// time since the bucket's last report, by the server's clock (Envoy's
// time_elapsed is whole seconds).
func (b *bucket) observe(now time.Time, u *rlqsv3.RateLimitQuotaUsageReports_BucketQuotaUsage, interval time.Duration) {
	el := interval
	if !b.lastSeen.IsZero() {
		el = now.Sub(b.lastSeen)
	} else if te := u.GetTimeElapsed().AsDuration(); te > 0 {
		el = te
	}
	b.lastSeen = now
	if el <= 0 {
		return
	}
	r := float64(u.GetNumRequestsAllowed()+u.GetNumRequestsDenied()) / el.Seconds()
	if r >= b.rate {
		b.rate = r // demand that rises is served at once
	} else {
		b.rate = 0.5*b.rate + 0.5*r
	}
	b.admitRate = 0.5*b.admitRate + 0.5*float64(u.GetNumRequestsAllowed())/el.Seconds()
}

// unreported is what the client likely admitted since its last report, at
// the rate its reports showed.
func (b *bucket) unreported(now time.Time) uint64 {
	return uint64(math.Ceil(b.admitRate * now.Sub(b.lastSeen).Seconds()))
}

// items resolve a bucket to the rule and counters ShouldRateLimit would
// give a descriptor of its entries, in the order the domain's tree names
// them: one item per limit of the rule.
func (s *Server) items(domain string, id *rlqsv3.BucketId, now time.Time) ([]ratelimit.Item, bool) {
	keys := policy.BucketKeys(s.o.Service.Snapshot(), domain, id.GetBucket())
	if len(keys) == 0 {
		return nil, false
	}
	entries := make([]*ratelimitv3.RateLimitDescriptor_Entry, len(keys))
	for i, k := range keys {
		entries[i] = &ratelimitv3.RateLimitDescriptor_Entry{Key: k, Value: id.GetBucket()[k]}
	}
	return s.o.Service.ItemsFor(domain, entries, now)
}

// bucketKey names a BucketId whatever its map's order.
func bucketKey(id *rlqsv3.BucketId) string {
	m := id.GetBucket()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(k)
		sb.WriteByte(0)
		sb.WriteString(m[k])
		sb.WriteByte(0)
	}
	return sb.String()
}

// accountEnd is when a bucket's account of its item turns over: its
// window's end, or for a token bucket, which has no window, the end of a
// window of its unit, so that a used-up key is denied for at most that.
func accountEnd(it *ratelimit.Item) int64 {
	if it.Algorithm == policy.TokenBucket {
		return policy.WindowStartOf(it.Unit, it.UnitMultiplier, it.Now.Unix()) + it.WindowSeconds()
	}
	return it.WindowStart + it.WindowSeconds()
}
