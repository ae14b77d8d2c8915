package counter

import (
	"context"
	"fmt"
	"hash/maphash"
	"time"
)

// grantGrace keeps a window's granted count this long past the window's end,
// so that charges and returns of that window arriving late still find it.
const grantGrace = time.Minute

// maxGrantCount bounds every amount of a grant and every granted count: the
// Redis script computes in doubles, exact only up to 2^53, and both stores
// must agree. policy.MaxHits is far below it.
const maxGrantCount = 1 << 53

var _ Granter = (*Memory)(nil)

// checkGrant rejects calls every store would get wrong: an out slice of
// another length, or a window with no length, which would never be in force.
func checkGrant(gs []Grant, out []Granted) error {
	if len(out) != len(gs) {
		return fmt.Errorf("counter: %d grants but %d results", len(gs), len(out))
	}
	for _, g := range gs {
		if g.Window <= 0 {
			return fmt.Errorf("counter %q: window %v, must be positive", g.Key, g.Window)
		}
	}
	return nil
}

// clampGrant caps an amount at maxGrantCount.
func clampGrant(n uint64) uint64 { return min(n, maxGrantCount) }

// grantWindow says whether g's window is in force at now.
func grantWindow(g Grant, now time.Time) GrantStatus {
	start := time.Unix(g.WindowStart, 0)
	switch {
	case !start.Add(g.Window).After(now):
		return GrantStale
	case start.After(now.Add(max(g.Ahead, 0))):
		return GrantEarly
	}
	return GrantOK
}

// applyGrant is a grant on the granted count total, as the Redis script
// computes it: the charge first, whatever the limit; then the return; then
// tokens up to ceil(remaining / Divisor) and Want, or, when take is set,
// what take gives of the window's total and remaining (a grant shared by
// demand, fair_grant.go).
func applyGrant(total uint64, lost bool, g Grant, take func(total, remaining uint64) uint64) (after, tokens uint64) {
	if lost {
		total = clampGrant(g.Floor)
	}
	total = min(total+clampGrant(g.Charge), maxGrantCount)
	total -= min(clampGrant(g.Return), total)
	remaining := clampGrant(g.Limit) - min(clampGrant(g.Limit), total)
	if take != nil {
		tokens = take(total, remaining)
	} else {
		div := max(clampGrant(g.Divisor), 1)
		tokens = min(clampGrant(g.Want), remaining/div+min(remaining%div, 1))
	}
	return total + tokens, tokens
}

// Grant runs each grant under its key's shard lock, by the wall clock. A
// granted count is a counter like those of Add, bound by MaxBytes and swept
// by the janitor once its window has ended and grantGrace passed.
func (m *Memory) Grant(_ context.Context, gs []Grant, out []Granted) error {
	if err := checkGrant(gs, out); err != nil {
		return err
	}
	if m.closed.Load() {
		return ErrClosed
	}
	wall := time.Now()
	now := wall.Sub(m.start)
	for i, g := range gs {
		sh := &m.shards[maphash.String(m.seed, g.Key)%memoryShards]
		sh.mu.Lock()
		c := sh.counters[g.Key]
		var total uint64
		lost := true
		if c != nil && c.expires > now {
			total, lost = c.count, false // an expired counter reads as absent
		}
		out[i] = Granted{Status: grantWindow(g, wall), Total: total}
		if out[i].Status != GrantOK {
			sh.mu.Unlock()
			continue
		}
		// Wall time to the window's end, counted on the monotonic clock.
		expires := now + time.Unix(g.WindowStart, 0).Add(g.Window+grantGrace).Sub(wall)
		var take func(total, remaining uint64) uint64
		if fairOn(g) {
			take = func(total, remaining uint64) uint64 {
				return m.fairGrant(g, total, remaining, wall.UnixMilli(), now, expires)
			}
		}
		after, tokens := applyGrant(total, lost, g, take)
		out[i] = Granted{Tokens: tokens, Total: after}
		// A grant that changes nothing does not create or touch the counter.
		if after != total {
			m.putGranted(sh, g.Key, after, expires, now)
		}
		sh.mu.Unlock()
	}
	return nil
}

// putGranted writes a granted count, creating its counter (within the
// shard's budget) or reviving an expired one. Caller holds sh.mu.
func (m *Memory) putGranted(sh *memoryShard, key string, count uint64, expires, now time.Duration) {
	c := sh.counters[key]
	if c == nil {
		c = m.create(sh, key, expires, now)
	}
	*c = memoryCounter{count: count, expires: expires}
}
