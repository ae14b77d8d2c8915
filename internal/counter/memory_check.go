package counter

import (
	"context"
	"hash/maphash"
	"slices"
	"time"
)

var (
	_ Checker     = (*Memory)(nil)
	_ AlgoGranter = (*Memory)(nil)
)

// lockKeys locks the shards of keys, in shard order so that two callers
// never wait on each other, and returns the unlock.
func (m *Memory) lockKeys(keys ...string) func() {
	idx := make([]uint64, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, maphash.String(m.seed, k)%memoryShards)
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		m.shards[i].mu.Lock()
	}
	return func() {
		for _, i := range idx {
			m.shards[i].mu.Unlock()
		}
	}
}

func (m *Memory) shard(key string) *memoryShard {
	return &m.shards[maphash.String(m.seed, key)%memoryShards]
}

// live is key's counter, nil when missing or expired. Caller holds its
// shard's lock.
func (m *Memory) live(key string, mono time.Duration) *memoryCounter {
	c := m.shard(key).counters[key]
	if c == nil || c.expires <= mono {
		return nil
	}
	return c
}

// count is key's count, 0 when missing or expired.
func (m *Memory) count(key string, mono time.Duration) uint64 {
	if c := m.live(key, mono); c != nil {
		return c.count
	}
	return 0
}

// put writes key's counter with a new expiry, creating it if need be.
// Caller holds its shard's lock.
func (m *Memory) put(key string, c memoryCounter, mono time.Duration) {
	sh := m.shard(key)
	p := sh.counters[key]
	if p == nil {
		p = m.create(sh, key, c.expires, mono)
	}
	*p = c
}

// charge adds hits to a window's counter; a counter created here lives ttl.
func (m *Memory) charge(key string, hits uint64, ttl, mono time.Duration) {
	if hits == 0 {
		return
	}
	if c := m.live(key, mono); c != nil {
		c.count = addSaturating(c.count, hits)
		return
	}
	m.put(key, memoryCounter{count: hits, expires: mono + ttl}, mono)
}

// tatDebt is the debt of key's bucket at now.
func (m *Memory) tatDebt(bk bucket, key string, nowUs int64, mono time.Duration) u128 {
	c := m.live(key, mono)
	if c == nil {
		return u128{}
	}
	return bk.debt(tat{int64(c.count), c.rem}, nowUs)
}

// putTAT stores a bucket at debt d; a full bucket needs no key.
func (m *Memory) putTAT(bk bucket, key string, d u128, nowUs int64, mono time.Duration) {
	if d.isZero() {
		if c := m.live(key, mono); c != nil {
			c.expires = mono // expired: swept later
		}
		return
	}
	t := bk.at(d, nowUs)
	m.put(key, memoryCounter{count: uint64(t.us), rem: t.r, expires: mono + bk.micros(d) + time.Millisecond}, mono)
}

// Check decides and charges under the locks of every key involved, so a
// request's limits are charged all or none.
func (m *Memory) Check(_ context.Context, now time.Time, limits []Limit, out []Verdict) (bool, error) {
	if err := checkLimits(now, limits, out); err != nil {
		return false, err
	}
	if m.closed.Load() {
		return false, ErrClosed
	}
	keys := make([]string, 0, 2*len(limits))
	for _, l := range limits {
		keys = append(keys, l.Key)
		if l.Algorithm == SlidingWindow {
			keys = append(keys, l.PrevKey)
		}
	}
	mono := time.Since(m.start)
	nowUs := now.UnixMicro()
	defer m.lockKeys(keys...)()

	type state struct {
		prev, cur uint64
		bk        bucket
		debt      u128
	}
	st := make([]state, len(limits))
	admitted := true
	for i, l := range limits {
		s := &st[i]
		switch l.Algorithm {
		case FixedWindow:
			s.cur = m.count(l.Key, mono)
			out[i] = fixedVerdict(now, l, s.cur, false)
		case SlidingWindow:
			s.prev, s.cur = m.count(l.PrevKey, mono), m.count(l.Key, mono)
			out[i] = slidingVerdict(now, l, s.prev, s.cur, false)
		case TokenBucket:
			s.bk, _ = newBucket(l)
			s.debt = m.tatDebt(s.bk, l.Key, nowUs, mono)
			out[i] = s.bk.verdict(s.debt, l.Hits, false)
		}
		admitted = admitted && !out[i].Over
	}
	if !admitted {
		return false, nil
	}
	for i, l := range limits {
		s := &st[i]
		switch l.Algorithm {
		case FixedWindow:
			m.charge(l.Key, l.Hits, windowLeft(now, l), mono)
			out[i] = fixedVerdict(now, l, s.cur, true)
		case SlidingWindow:
			m.charge(l.Key, l.Hits, slidingTTL(now, l), mono)
			out[i] = slidingVerdict(now, l, s.prev, s.cur, true)
		case TokenBucket:
			if l.Hits > 0 {
				m.putTAT(s.bk, l.Key, s.debt.add(s.bk.span(l.Hits)), nowUs, mono)
			}
			out[i] = s.bk.verdict(s.debt, l.Hits, true)
		}
	}
	return true, nil
}

// GrantSliding grants under the locks of both windows' counts.
func (m *Memory) GrantSliding(_ context.Context, now time.Time, gs []SlidingGrant, out []Granted) error {
	if err := checkSlidingGrants(gs, out); err != nil {
		return err
	}
	if m.closed.Load() {
		return ErrClosed
	}
	mono := time.Since(m.start)
	for i, g := range gs {
		unlock := m.lockKeys(g.Key, g.PrevKey)
		c := m.live(g.Key, mono)
		total, lost := uint64(0), c == nil
		if c != nil {
			total = c.count
		}
		prev := m.count(g.PrevKey, mono)
		w := slidingGrantWeight(g.Grant, now)
		out[i] = Granted{Status: grantWindow(g.Grant, now), Total: total, Used: slidingEstimate(prev, total, w)}
		if out[i].Status == GrantOK {
			var take func(total, remaining uint64) uint64
			if fairOn(g.Grant) {
				take = func(total, remaining uint64) uint64 {
					return m.fairGrant(g.Grant, total, remaining, now.UnixMilli(), mono, mono+slidingGrantTTL(g.Grant, now))
				}
			}
			after, tokens := applySlidingGrant(total, lost, g.Grant, prev, w, take)
			out[i] = Granted{Tokens: tokens, Total: after, Used: slidingEstimate(prev, after, w)}
			if after != total {
				m.put(g.Key, memoryCounter{count: after, expires: mono + slidingGrantTTL(g.Grant, now)}, mono)
			}
		}
		unlock()
	}
	return nil
}

// GrantBucket grants under the bucket's lock.
func (m *Memory) GrantBucket(_ context.Context, now time.Time, gs []BucketGrant, out []Granted) error {
	bks, err := checkBucketGrants(gs, out)
	if err != nil {
		return err
	}
	if m.closed.Load() {
		return ErrClosed
	}
	mono := time.Since(m.start)
	nowUs := now.UnixMicro()
	for i, g := range gs {
		bk := bks[i]
		unlock := m.lockKeys(g.Key)
		d := m.tatDebt(bk, g.Key, nowUs, mono)
		after, tokens, used := bk.grant(d, g)
		if after != d {
			m.putTAT(bk, g.Key, after, nowUs, mono)
		}
		unlock()
		out[i] = Granted{Tokens: tokens, Total: used, Used: used}
	}
	return nil
}
