package ratelimit

import (
	"math"
	"slices"
	"time"
	"unsafe"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/policy"
)

// check is what one request descriptor resolved to.
type check struct {
	// limit is the matched rule, or for an override one built from the
	// descriptor's own `limit` for stats and the response.
	limit    *policy.Limit
	resolved policy.Resolved
	replaced bool // another matched limit names this one in `replaces`
	// item is the index in request.items of the descriptor's first item,
	// -1 when nothing is counted; a descriptor with several limits has
	// nItems, one per limit.
	item   int
	nItems int
}

// request holds the per-request working state; it is pooled so that a
// request allocates only what it returns.
type request struct {
	served  *served
	checks  []check
	storage []Item
	stats   []*ruleStats // of each item's limit
	items   []*Item
	keyBuf  []byte // every counter key of the request, end to end
	keyEnds []int  // where each item's key, then its previous window's, ends in keyBuf
}

func (r *request) reset() {
	r.served = nil
	clear(r.checks)
	clear(r.storage)
	clear(r.items)
	clear(r.stats)
	r.checks, r.storage, r.items, r.stats = r.checks[:0], r.storage[:0], r.items[:0], r.stats[:0]
}

// match resolves every descriptor to its limit and builds the items the
// Limiter counts.
func (r *request) match(s *Service, req *rlsv3.RateLimitRequest, now time.Time) {
	snap := r.served.snap
	domain := req.GetDomain()
	descs := req.GetDescriptors()
	r.checks = slices.Grow(r.checks, len(descs))[:len(descs)]
	nowUnix := now.Unix()
	if snap != nil && !snap.HasDomain(domain) {
		s.rules.domainNotFound(domain).Add(uint64(len(descs)))
	}
	for i, d := range descs {
		c := &r.checks[i]
		*c = check{item: -1}
		if snap == nil {
			continue
		}
		var o *policy.Override
		if ol := d.GetLimit(); ol != nil {
			o = &policy.Override{RequestsPerUnit: ol.GetRequestsPerUnit(), Unit: overrideUnit(ol.GetUnit()),
				UnitMultiplier: ol.GetUnitMultiplier().GetValue()}
		}
		c.resolved = policy.Resolve(snap, domain, d.GetEntries(), o, nowUnix)
		c.limit = c.resolved.Limit
		if c.resolved.Override {
			c.limit = overrideLimit(domain, d.GetEntries(), &c.resolved)
		}
	}
	r.applyReplaces()

	reqHits := uint64(req.GetHitsAddend())
	if reqHits == 0 {
		reqHits = 1
	}
	r.storage = slices.Grow(r.storage, len(descs))
	r.keyBuf = r.keyBuf[:0]
	r.keyEnds = r.keyEnds[:0]
	for i, d := range descs {
		c := &r.checks[i]
		res := &c.resolved
		if c.replaced || !res.Counted() {
			continue
		}
		hits := reqHits
		if h := d.GetHitsAddend(); h != nil {
			hits = h.GetValue()
		}
		// Capped here, before anything counts or reports them: one absurd
		// hits_addend must neither wrap a counter nor fail the engine's.
		if capped, clamped := policy.ClampHits(hits); clamped {
			s.stats.hitsClamped.Inc()
			hits = capped
		}
		c.item = len(r.storage)
		c.nItems = max(len(res.Limits), 1)
		for n := range c.nItems {
			ri := *res
			if n > 0 {
				ri = res.Nth(n, nowUnix)
			}
			r.keyBuf = policy.AppendKey(r.keyBuf, s.keys, domain, d.GetEntries(), &ri)
			r.keyEnds = append(r.keyEnds, len(r.keyBuf))
			if ri.Algorithm == policy.SlidingWindow {
				prev := ri
				prev.WindowStart -= ri.WindowSeconds()
				r.keyBuf = policy.AppendKey(r.keyBuf, s.keys, domain, d.GetEntries(), &prev)
			}
			r.keyEnds = append(r.keyEnds, len(r.keyBuf))
			it := s.itemOf(domain, d.GetEntries(), c.limit, &ri, hits, now)
			it.Group, it.Several = i, c.nItems > 1
			r.storage = append(r.storage, it)
			r.stats = append(r.stats, s.statsFor(r.served, domain, d.GetEntries(), it.Limit))
		}
	}
	// Keys are views of keyBuf, taken once it has stopped growing; they are
	// valid until the request is put back in the pool.
	begin := 0
	for i := range r.storage {
		end, prevEnd := r.keyEnds[2*i], r.keyEnds[2*i+1]
		r.storage[i].Key = view(r.keyBuf, begin, end)
		if prevEnd > end {
			r.storage[i].PrevKey = view(r.keyBuf, end, prevEnd)
		}
		begin = prevEnd
		r.items = append(r.items, &r.storage[i])
	}
}

// view is b[begin:end] as a string that shares b's memory.
func view(b []byte, begin, end int) string {
	return unsafe.String(unsafe.SliceData(b[begin:end]), end-begin)
}

// applyReplaces drops every matched limit whose name another matched limit
// lists in `replaces`.
func (r *request) applyReplaces() {
	for i := range r.checks {
		by := r.checks[i].limit
		if by == nil || len(by.Replaces) == 0 {
			continue
		}
		for j := range r.checks {
			l := r.checks[j].limit
			if j != i && l != nil && l.Name != "" && slices.Contains(by.Replaces, l.Name) {
				r.checks[j].replaced = true
			}
		}
	}
}

// respond turns counts into the response Envoy expects.
func (r *request) respond(s *Service, req *rlsv3.RateLimitRequest, now time.Time) *rlsv3.RateLimitResponse {
	resp := &rlsv3.RateLimitResponse{
		OverallCode: rlsv3.RateLimitResponse_OK,
		Statuses:    make([]*rlsv3.RateLimitResponse_DescriptorStatus, len(r.checks)),
	}
	// One allocation for every status of the response.
	statuses := make([]rlsv3.RateLimitResponse_DescriptorStatus, len(r.checks))
	var overQuota []int
	denied := -1
	for i := range r.checks {
		c := &r.checks[i]
		st := &statuses[i]
		st.Code = rlsv3.RateLimitResponse_OK
		resp.Statuses[i] = st
		switch {
		case c.limit == nil || c.replaced:
			continue
		case c.limit.Unlimited:
			st.LimitRemaining = math.MaxUint32
			continue
		case c.item < 0:
			continue
		}
		// A shadow_mode descriptor over its limit is answered OK by judge
		// and is no quota violation either, as there.
		if !r.judgeAll(s, c, st, now) || st.Code != rlsv3.RateLimitResponse_OVER_LIMIT {
			continue
		}
		if s.quota || c.limit.QuotaMode {
			overQuota = append(overQuota, i)
			continue
		}
		resp.OverallCode = rlsv3.RateLimitResponse_OVER_LIMIT
		denied = i
	}
	s.headers.add(resp, denied)
	// A quota descriptor over its limit never denies (envoyproxy/ratelimit's
	// src/service/ratelimit.go): its status becomes OK with only its limit
	// and what remains of it, and its index goes to quotaModeViolations.
	// The headers above were chosen from its status as counted, as there.
	for _, i := range overQuota {
		statuses[i].Code = rlsv3.RateLimitResponse_OK
		statuses[i].DurationUntilReset = nil
	}
	resp.DynamicMetadata = r.metadata(s.metadata, req, overQuota)
	return resp
}

// judgeAll fills a descriptor's status from its items. With several
// limits the status is the one that decided: the first limit over, or
// else the one with the least remaining.
func (r *request) judgeAll(s *Service, c *check, st *rlsv3.RateLimitResponse_DescriptorStatus, now time.Time) bool {
	if c.nItems == 1 {
		return s.judge(r.served, r.stats[c.item], &r.storage[c.item], st, now)
	}
	var over bool
	for n := range c.nItems {
		j := c.item + n
		each := &rlsv3.RateLimitResponse_DescriptorStatus{Code: rlsv3.RateLimitResponse_OK}
		o := s.judge(r.served, r.stats[j], &r.storage[j], each, now)
		switch {
		case o && !over:
			over = true
			setStatus(st, each)
		case !over && (n == 0 || each.LimitRemaining < st.LimitRemaining):
			setStatus(st, each)
		}
	}
	return over
}

// setStatus makes dst say what src says.
func setStatus(dst, src *rlsv3.RateLimitResponse_DescriptorStatus) {
	dst.Code, dst.CurrentLimit = src.Code, src.CurrentLimit
	dst.LimitRemaining, dst.DurationUntilReset = src.LimitRemaining, src.DurationUntilReset
}

// judge fills one descriptor status from its count (or its Limiter's
// verdict) and keeps the rule's stats the way envoyproxy/ratelimit does.
// It reports whether the item is over its limit.
func (s *Service) judge(sv *served, stats *ruleStats, it *Item, st *rlsv3.RateLimitResponse_DescriptorStatus, now time.Time) bool {
	limit := uint64(it.RequestsPerUnit)
	near := uint64(math.Floor(float64(limit) * s.nearRatio))
	after, hits := it.Count, it.Hits
	before := uint64(0)
	if after > hits {
		before = after - hits
	}
	st.CurrentLimit = sv.currentLimit(it.Limit, it.RequestsPerUnit, it.Unit, it.UnitMultiplier)
	stats.totalHits.Add(hits)
	if it.Decided {
		return s.judgeVerdict(stats, it, st, near)
	}
	st.DurationUntilReset = resetDuration(it.WindowStart + it.WindowSeconds() - now.Unix())

	// A limit of 0 is always over, even for a check that counts nothing.
	if after <= limit && limit > 0 {
		st.LimitRemaining = uint32(limit - after)
		if after > near {
			stats.nearLimit.Add(after - max(near, before))
		}
		stats.withinLimit.Add(hits)
		return false
	}
	if before >= limit {
		stats.overLimit.Add(hits)
	} else {
		stats.overLimit.Add(after - limit)
		stats.nearLimit.Add(limit - max(near, before))
	}
	if it.Limit.ShadowMode {
		stats.shadowMode.Add(max(hits, 1))
		return true
	}
	st.Code = rlsv3.RateLimitResponse_OVER_LIMIT
	return true
}

// judgeVerdict fills the status of an item its Limiter judged: a sliding
// window's estimate, a token bucket's tokens, or one of several limits.
// Denied hits were not charged, so they count as over_limit only.
func (s *Service) judgeVerdict(stats *ruleStats, it *Item, st *rlsv3.RateLimitResponse_DescriptorStatus, near uint64) bool {
	st.DurationUntilReset = resetDuration(int64((it.ResetAfter + time.Second - 1) / time.Second))
	if !it.Over {
		st.LimitRemaining = uint32(min(it.Remaining, math.MaxUint32))
		if it.Count > near {
			stats.nearLimit.Add(min(it.Count-near, it.Hits))
		}
		stats.withinLimit.Add(it.Hits)
		return false
	}
	stats.overLimit.Add(it.Hits)
	if it.Limit.ShadowMode {
		stats.shadowMode.Add(max(it.Hits, 1))
		return true
	}
	st.Code = rlsv3.RateLimitResponse_OVER_LIMIT
	return true
}

// statsFor returns the stats of a matched rule: the configured path, or the
// request's own values with detailed_metric / value_to_metric.
func (s *Service) statsFor(sv *served, domain string, entries []*ratelimitEntry, l *policy.Limit) *ruleStats {
	if l.DetailedMetric || slices.Contains(l.ValueToMetric, true) {
		return s.rules.value(domain, entries, l)
	}
	if sv.holds(l) {
		return sv.stats[l.Index]
	}
	// A limit made for one request (a descriptor's own limit) is named by
	// the request's values.
	return s.rules.value(domain, entries, nil)
}

// overrideLimit is the limit of a descriptor that carries its own `limit`,
// for its response; statsFor names its stats by the request's full
// descriptor.
func overrideLimit(domain string, entries []*ratelimitEntry, r *policy.Resolved) *policy.Limit {
	return &policy.Limit{
		Domain:          domain,
		RequestsPerUnit: r.RequestsPerUnit,
		Unit:            r.Unit,
		UnitMultiplier:  r.UnitMultiplier,
		Depth:           len(entries),
	}
}
