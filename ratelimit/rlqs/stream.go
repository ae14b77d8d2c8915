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
	"github.com/floodgate/floodgate/ratelimit/replica"
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
	ttl        time.Duration // of the assignments the last report made
	lastReport time.Time
}

// bucket is one BucketId of a stream.
type bucket struct {
	id     *rlqsv3.BucketId
	domain string
	// ruled: it matched a counted rule, so that losing it abandons it.
	ruled bool
	// leased: hold is the lease of windowEnd's window.
	leased    bool
	hold      replica.Hold
	windowEnd int64
	ledger    ledger
	rate      float64 // requests a second, allowed and denied: up at once, down smoothed
	admitRate float64 // requests allowed a second, smoothed
	lastSeen  time.Time

	action *bucketAction // the assignment in force
	sent   time.Time     // when it was last sent
	ttl    time.Duration
	odd    bool // the fill interval's nanos of the last token bucket
	deny   bool // the action is DENY_ALL for an exhausted window
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

// topUp is a bucket waiting for the engines' grants within a report.
type topUp struct {
	b         *bucket
	want, got uint64
	needed    uint64 // counted as waiting on the lease until the next Take
	ch        <-chan struct{}
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
	interval := st.interval
	if interval <= 0 {
		interval = s.o.Interval
	}
	ttl := wholeSeconds(2*interval + time.Second)
	st.ttl = ttl
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
	it, ok := s.item(domain, id, now)
	st.settle(b, &it, ok, allowed)

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
	if it.RequestsPerUnit == 0 {
		st.blanket(resp, b, typev3.RateLimitStrategy_DENY_ALL, ttl, now)
		return topUp{}, false
	}
	if it.Quota || (it.Limit != nil && it.Limit.ShadowMode) {
		// Reported, never denied: as ShouldRateLimit answers them.
		st.blanket(resp, b, typev3.RateLimitStrategy_ALLOW_ALL, ttl, now)
		return topUp{}, false
	}
	if b.deny && b.hold.Held() > 0 {
		b.deny = false // tokens came back to the lease: the window goes on
	}
	if b.deny {
		b.hold.Denied()
	}
	if !b.leased || b.deny {
		st.extend(resp, b, now)
		return topUp{}, false
	}
	// Enough left for the next interval at the bucket's rate: the
	// assignment in force only needs its TTL extended. A new one would
	// replace Envoy's bucket and the tokens left in it, which come back
	// only once reports prove them unspent.
	if b.action.GetQuotaAssignmentAction().GetRateLimitStrategy().GetTokenBucket() != nil &&
		float64(b.ledger.left()) >= b.rate*interval.Seconds() {
		st.extend(resp, b, now)
		return topUp{}, false
	}
	return st.topUp(b, now, interval), true
}

// topUp asks b's lease for two intervals of demand, but no more than the
// window has time left to spend: tokens still in Envoy's bucket when the
// window ends are taken from it then (turnover).
func (st *stream) topUp(b *bucket, now time.Time, interval time.Duration) topUp {
	horizon := min(2*interval, time.Unix(b.windowEnd, 0).Sub(now))
	want := uint64(max(1, math.Ceil(b.rate*horizon.Seconds())))
	up := topUp{b: b, want: want}
	if up.ch = b.hold.Need(want); up.ch != nil {
		up.needed = want
	}
	return up
}

// settle takes what Envoy reported admitted on b: tokens it can no longer
// spend go back to the window they were debited from (none, once it is
// over), what it admitted beyond them is counted in the window in force.
// A counted item of a new window gets that window's lease.
func (st *stream) settle(b *bucket, it *ratelimit.Item, ok bool, allowed uint64) {
	s := st.s
	back, charge := b.ledger.report(allowed)
	was, wasLeased := b.hold, b.leased
	leased := counted(it, ok)
	st.startWindow(b, it, leased)
	if wasLeased {
		was.Give(back)
		s.st.tokensReturned.Add(back)
	}
	switch {
	case leased && b.leased:
		b.hold.Charge(charge)
		s.st.tokensCharged.Add(charge)
	case wasLeased:
		was.Charge(charge)
		s.st.tokensCharged.Add(charge)
	}
}

// counted reports whether a bucket resolved to it draws on a lease.
func counted(it *ratelimit.Item, ok bool) bool {
	return ok && it.RequestsPerUnit > 0 && !it.Quota && (it.Limit == nil || !it.Limit.ShadowMode)
}

// startWindow moves a leased bucket's account to it's window when that is
// a new one: a new lease, and nothing of the last window's left to spend.
func (st *stream) startWindow(b *bucket, it *ratelimit.Item, leased bool) {
	end := accountEnd(it)
	if !leased || (end == b.windowEnd && b.leased) {
		return
	}
	b.ledger.newWindow()
	b.windowEnd, b.deny = end, false
	b.hold, b.leased = st.s.o.Leases.Hold(it)
	if !b.leased {
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
			if up.ch == nil || expired {
				continue
			}
			select {
			case <-up.ch:
			case <-deadline.C:
				expired = true
			case <-st.ss.Context().Done():
				expired = true
			}
		}
		more := false
		for i := range ups {
			up := &ups[i]
			up.got += up.b.hold.Take(up.want-up.got, up.needed)
			up.ch, up.needed = nil, 0
			if up.got >= up.want || expired || round == grantRounds || up.b.hold.Exhausted() {
				continue
			}
			if up.ch = up.b.hold.Need(up.want - up.got); up.ch != nil {
				up.needed = up.want - up.got
			}
			more = true
		}
		if !more {
			return
		}
	}
}

// assign gives up's bucket what its lease has: a new token bucket, DENY_ALL
// until the window ends when the key is used up, or else more time for the
// assignment in force.
func (st *stream) assign(resp *rlqsv3.RateLimitQuotaResponse, up topUp, ttl time.Duration, now time.Time) {
	s, b, got := st.s, up.b, up.got
	switch {
	case got > 0:
		b.ledger.assign(got)
		b.odd = !b.odd
		b.set(resp, tokenBucket(b.id, got, ttl, b.odd), ttl, now)
		s.st.tokenBuckets.Inc()
		s.st.tokensAssigned.Add(got)
	case b.hold.Exhausted():
		b.ledger.assign(0)
		b.deny = true
		until := time.Unix(b.windowEnd, 0).Sub(now)
		b.set(resp, blanket(b.id, typev3.RateLimitStrategy_DENY_ALL, until), wholeSeconds(until), now)
		s.st.denyAll.Inc()
	default:
		// No grant in time (an engine slow or down): the client keeps what
		// it has, and falls back at the TTL if none comes.
		if b.hold.Unavailable() {
			s.st.unavailable.Inc()
		}
		st.extend(resp, b, now)
	}
}

// blanket assigns rule, or extends it when it is in force.
func (st *stream) blanket(resp *rlqsv3.RateLimitQuotaResponse, b *bucket, rule typev3.RateLimitStrategy_BlanketRule, ttl time.Duration, now time.Time) {
	if cur := b.action.GetQuotaAssignmentAction().GetRateLimitStrategy(); cur != nil && cur.GetTokenBucket() == nil && cur.GetBlanketRule() == rule && !b.deny {
		st.extend(resp, b, now)
		return
	}
	if b.leased {
		b.ledger.assign(0)
	}
	b.deny = false
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
	if b.action == nil || b.deny || now.Sub(b.sent) < b.ttl/2 {
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

// item resolves a bucket to the rule and counter ShouldRateLimit would
// give a descriptor of its entries, in the order the domain's tree names
// them.
func (s *Server) item(domain string, id *rlqsv3.BucketId, now time.Time) (ratelimit.Item, bool) {
	keys := policy.BucketKeys(s.o.Service.Snapshot(), domain, id.GetBucket())
	if len(keys) == 0 {
		return ratelimit.Item{}, false
	}
	entries := make([]*ratelimitv3.RateLimitDescriptor_Entry, len(keys))
	for i, k := range keys {
		entries[i] = &ratelimitv3.RateLimitDescriptor_Entry{Key: k, Value: id.GetBucket()[k]}
	}
	return s.o.Service.ItemFor(domain, entries, now)
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
