package counter

import (
	"context"
	"fmt"
	"time"
)

var _ Checker = (*BySecond)(nil)

// isPerSecondLimit: a limit of unit second, kept where Add keeps its counts.
func isPerSecondLimit(l Limit) bool { return l.Window == time.Second }

// Check sends limits of one second to PerSecond and the others to Other.
// A request whose limits all live in one store is checked there, all or
// none. One with limits in both is checked in PerSecond first and, only
// when that admits, in Other: when Other then denies, the per-second
// charges stand (no store can take back another's), an over-count that
// ends with its one-second window (a bucket of a second: its refill).
func (b *BySecond) Check(ctx context.Context, now time.Time, limits []Limit, out []Verdict) (bool, error) {
	if err := checkLimits(now, limits, out); err != nil {
		return false, err
	}
	var sec, other []int
	for i, l := range limits {
		if isPerSecondLimit(l) {
			sec = append(sec, i)
		} else {
			other = append(other, i)
		}
	}
	checkIn := func(s Store, idx []int, hits bool) (bool, error) {
		c, ok := s.(Checker)
		if !ok {
			return false, fmt.Errorf("counter: per-second split: check: %w", ErrUnsupported)
		}
		part := make([]Limit, len(idx))
		for j, i := range idx {
			part[j] = limits[i]
			if !hits {
				part[j].Hits = 0
			}
		}
		vs := make([]Verdict, len(idx))
		ok, err := c.Check(ctx, now, part, vs)
		for j, i := range idx {
			out[i] = vs[j]
		}
		return ok, err
	}
	switch {
	case len(other) == 0:
		return checkIn(b.PerSecond, sec, true)
	case len(sec) == 0:
		return checkIn(b.Other, other, true)
	}
	ok, err := checkIn(b.PerSecond, sec, true)
	if err != nil {
		return false, err
	}
	if !ok {
		// Other is only read, so its verdicts say where it stands.
		if _, err := checkIn(b.Other, other, false); err != nil {
			return false, err
		}
		return false, nil
	}
	return checkIn(b.Other, other, true)
}
