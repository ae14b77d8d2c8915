package counter

import (
	"context"
	"errors"
	"sync"
	"time"
)

// BySecond keeps the counters of one-second windows (an Increment whose
// Expiry is exactly a second: limits with unit second) in a store of their
// own and every other counter in Other, as envoyproxy/ratelimit's
// REDIS_PERSECOND does: the busiest, shortest-lived keys on a Redis sized
// for them.
type BySecond struct {
	PerSecond, Other Store
}

var (
	_ Store        = (*BySecond)(nil)
	_ DownReporter = (*BySecond)(nil)
	_ Pinger       = (*BySecond)(nil)
)

func isPerSecond(inc Increment) bool { return inc.Expiry == time.Second }

// Add sends each store its part of incs, the two at once. When one part
// fails as a whole, its increments fail (a KeyErrors) and the other's are
// counted; when both do, the error joins the two.
func (b *BySecond) Add(ctx context.Context, incs []Increment, counts []uint64) error {
	if err := checkAdd(incs, counts); err != nil {
		return err
	}
	var sec, other []int
	for i, inc := range incs {
		if isPerSecond(inc) {
			sec = append(sec, i)
		} else {
			other = append(other, i)
		}
	}
	switch {
	case len(other) == 0:
		return b.PerSecond.Add(ctx, incs, counts)
	case len(sec) == 0:
		return b.Other.Add(ctx, incs, counts)
	}
	var secErr error
	secCounts := make([]uint64, len(sec))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		secErr = b.PerSecond.Add(ctx, pick(incs, sec), secCounts)
	}()
	otherCounts := make([]uint64, len(other))
	otherErr := b.Other.Add(ctx, pick(incs, other), otherCounts)
	wg.Wait()

	if isWhole(secErr) && isWhole(otherErr) {
		return errors.Join(secErr, otherErr) // both failed whole
	}
	errs := make([]error, len(incs))
	for j, i := range sec {
		counts[i], errs[i] = secCounts[j], KeyErr(secErr, j)
	}
	for j, i := range other {
		counts[i], errs[i] = otherCounts[j], KeyErr(otherErr, j)
	}
	return keyErrors(errs)
}

// isWhole reports an error of a whole Add, rather than of some keys.
func isWhole(err error) bool {
	var ke *KeyErrors
	return err != nil && !errors.As(err, &ke)
}

func pick(incs []Increment, idx []int) []Increment {
	out := make([]Increment, len(idx))
	for j, i := range idx {
		out[j] = incs[i]
	}
	return out
}

// Down is the first store's that is down, nil while both answer.
func (b *BySecond) Down() error {
	for _, s := range []Store{b.PerSecond, b.Other} {
		if dr, ok := s.(DownReporter); ok {
			if err := dr.Down(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Ping pings both stores that can be pinged.
func (b *BySecond) Ping(ctx context.Context) error {
	for _, s := range []Store{b.PerSecond, b.Other} {
		if p, ok := s.(Pinger); ok {
			if err := p.Ping(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes both stores.
func (b *BySecond) Close() error { return errors.Join(b.PerSecond.Close(), b.Other.Close()) }
