package counter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

var _ Checker = (*Memcached)(nil)

// memcachedCASRetries bounds how often one limit's read-decide-write is
// tried again after another writer changed the key in between; each retry
// first waits a random time up to 100µs × the tries so far, so that
// writers of a hot key spread out.
const memcachedCASRetries = 16

// ErrContended is returned when a key changed under every try of a
// compare-and-swap; it matches errors.Is.
var ErrContended = errors.New("key changed by other writers on every try")

// Check decides each limit with a compare-and-swap loop on its key (gets,
// then cas, or add for a missing key): memcached has no scripts and no
// operation over several keys, which may sit on several servers. Limits are
// charged one after another; when one denies, the charges of those before
// it are taken back (decr, or the TAT moved back), so a denied request is
// never left charged, but meanwhile its charges are visible to other
// requests. A sliding window's previous count is read apart: that window
// has ended. A key contended past memcachedCASRetries tries fails the call
// with ErrContended. Lease grants are not supported on memcached (it is no
// Granter either).
func (m *Memcached) Check(ctx context.Context, now time.Time, limits []Limit, out []Verdict) (bool, error) {
	if err := checkLimits(now, limits, out); err != nil {
		return false, err
	}
	if m.serversErr != nil {
		return false, fmt.Errorf("counter: memcached servers: %w", m.serversErr)
	}
	type state struct {
		x, y    int64
		charged bool
	}
	st := make([]state, len(limits))
	admitted := true
	var err error
	for i, l := range limits {
		if err = ctx.Err(); err != nil {
			break
		}
		s := &st[i]
		s.x, s.y, s.charged, err = m.checkOne(now, l)
		if err != nil {
			err = fmt.Errorf("counter %q: memcached %s check: %w", l.Key, l.Algorithm, err)
			break
		}
		if !s.charged && verdictOf(now, l, s.x, s.y, false).Over {
			admitted = false
			break
		}
	}
	if err != nil || !admitted {
		for i, l := range limits {
			if st[i].charged {
				m.refundOne(now, l) // best effort: a lost refund over-counts until the key expires
			}
		}
		if err != nil {
			return false, err
		}
		// The limits after the one that denied were not asked: read them.
		for i, l := range limits {
			if !st[i].charged {
				read := l
				read.Hits = 0
				if st[i].x, st[i].y, _, err = m.checkOne(now, read); err != nil {
					return false, fmt.Errorf("counter %q: memcached %s read: %w", l.Key, l.Algorithm, err)
				}
			}
			out[i] = verdictOf(now, l, st[i].x, st[i].y, false)
		}
		return false, nil
	}
	for i, l := range limits {
		out[i] = verdictOf(now, l, st[i].x, st[i].y, true)
	}
	return true, nil
}

// checkOne decides limit l alone and charges it when it admits: x, y are
// the state before, as the Redis check script returns them.
func (m *Memcached) checkOne(now time.Time, l Limit) (x, y int64, charged bool, err error) {
	key := m.key(l.Key)
	var prev int64
	if l.Algorithm == SlidingWindow {
		if prev, _, err = m.getCount(m.key(l.PrevKey)); err != nil {
			return 0, 0, false, err
		}
	}
	for try := range memcachedCASRetries {
		if try > 0 {
			time.Sleep(rand.N(time.Duration(try) * 100 * time.Microsecond))
		}
		var it *memcache.Item
		var next string
		var ttl time.Duration
		switch l.Algorithm {
		case FixedWindow, SlidingWindow:
			var cur int64
			if cur, it, err = m.getCount(key); err != nil {
				return 0, 0, false, err
			}
			x, y = cur, 0
			ttl = windowLeft(now, l)
			if l.Algorithm == SlidingWindow {
				x, y = prev, cur
				ttl = slidingTTL(now, l)
			}
			if l.Hits == 0 || verdictOf(now, l, x, y, false).Over {
				return x, y, false, nil
			}
			next = strconv.FormatUint(uint64(cur)+l.Hits, 10)
		case TokenBucket:
			bk, _ := newBucket(l)
			var t tat
			if t, it, err = m.getTAT(key, bk, now); err != nil {
				return 0, 0, false, err
			}
			x, y = t.us, int64(t.r)
			d := bk.debt(t, now.UnixMicro())
			if l.Hits == 0 || bk.over(d, l.Hits) {
				return x, y, false, nil
			}
			d = d.add(bk.span(l.Hits))
			t = bk.at(d, now.UnixMicro())
			next = fmt.Sprintf("%d:%d", t.us, t.r)
			ttl = bk.micros(d) + time.Second
		}
		if ok, err := m.swap(key, it, next, ttl, now); err != nil || ok {
			return x, y, ok, err
		}
	}
	return 0, 0, false, ErrContended
}

// swap writes value over it (cas) or, when it is nil, as a new key (add);
// false when another writer got there first.
func (m *Memcached) swap(key string, it *memcache.Item, value string, ttl time.Duration, now time.Time) (bool, error) {
	exp := memcachedExpiration(max(ttl, time.Second), now)
	var err error
	if it == nil {
		err = m.client.Add(&memcache.Item{Key: key, Value: []byte(value), Expiration: exp})
	} else {
		it.Value, it.Expiration = []byte(value), exp
		err = m.client.CompareAndSwap(it)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrCacheMiss):
		return false, nil
	}
	return false, err
}

// getCount reads a count, 0 and a nil item when missing.
func (m *Memcached) getCount(key string) (int64, *memcache.Item, error) {
	it, err := m.client.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(it.Value)), 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("value %q is not a count", it.Value)
	}
	return int64(min(n, 1<<62)), it, nil
}

// getTAT reads a bucket's TAT, now (a full bucket) when missing or past.
func (m *Memcached) getTAT(key string, bk bucket, now time.Time) (tat, *memcache.Item, error) {
	full := tat{us: now.UnixMicro()}
	it, err := m.client.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return full, nil, nil
	}
	if err != nil {
		return full, nil, err
	}
	us, r, ok := strings.Cut(string(it.Value), ":")
	t := tat{}
	var err1, err2 error
	t.us, err1 = strconv.ParseInt(us, 10, 64)
	t.r, err2 = strconv.ParseUint(r, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return full, nil, fmt.Errorf("value %q is not a token bucket", it.Value)
	}
	if t.us < full.us {
		return full, it, nil
	}
	t.r = min(t.r, bk.rate-1)
	return t, it, nil
}

// refundOne takes back a charge of checkOne.
func (m *Memcached) refundOne(now time.Time, l Limit) {
	key := m.key(l.Key)
	if l.Algorithm != TokenBucket {
		m.client.Decrement(key, l.Hits) // memcached's decr stops at 0
		return
	}
	bk, _ := newBucket(l)
	for range memcachedCASRetries {
		t, it, err := m.getTAT(key, bk, now)
		if err != nil || it == nil {
			return
		}
		d := bk.debt(t, now.UnixMicro()).sub(bk.span(l.Hits))
		if d.isZero() {
			m.client.Delete(key)
			return
		}
		t = bk.at(d, now.UnixMicro())
		if ok, err := m.swap(key, it, fmt.Sprintf("%d:%d", t.us, t.r), bk.micros(d)+time.Second, now); ok || err != nil {
			return
		}
	}
}
