package ratelimit

import (
	"context"

	"github.com/floodgate/floodgate/internal/counter"
)

// stopIncrementsOverLimit sets incs' hits as envoyproxy/ratelimit's
// STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT does (src/redis/fixed_cache_impl.go,
// getHitsAddend): it reads every counter first, and when any item would pass
// its limit with its hits, only those items count their hits; the others are
// only read, so a request denied on one descriptor uses up none of the
// others. As there, the read and the count are two round trips: a request
// between them is not seen by the read.
func (l *ExactLimiter) stopIncrementsOverLimit(ctx context.Context, items []*Item, incs []counter.Increment) error {
	reads := make([]counter.Increment, len(incs))
	for i, inc := range incs {
		reads[i] = counter.Increment{Key: inc.Key, Expiry: inc.Expiry}
	}
	counts := make([]uint64, len(incs))
	if err := l.store.Add(ctx, reads, counts); err != nil {
		return err
	}
	over := make([]bool, len(items))
	anyOver := false
	for i, it := range items {
		// Hits are at most 2^32-1 and a count at most 2^63-1: no overflow.
		if counts[i]+it.Hits > uint64(it.RequestsPerUnit) {
			over[i], anyOver = true, true
		}
	}
	if !anyOver {
		return nil
	}
	for i := range incs {
		if !over[i] {
			incs[i].Hits = 0
		}
	}
	return nil
}
