package ratelimit

import (
	"context"
	"errors"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/policy"
)

// checkItems judges the items that decide by themselves (sliding windows,
// token buckets, several limits of one descriptor) in the store, one
// descriptor at a time: the limits of a descriptor are charged together,
// and none of them when one denies.
func (l *ExactLimiter) checkItems(ctx context.Context, store counter.Store, replicas uint64, items []*Item) error {
	checker, ok := store.(counter.Checker)
	if !ok {
		return errors.New("exact mode: the counter store cannot check sliding windows, token buckets or several limits")
	}
	limits := make([]counter.Limit, len(items))
	verdicts := make([]counter.Verdict, len(items))
	for i, it := range items {
		limits[i] = counterLimit(it, replicas)
	}
	for start := 0; start < len(items); {
		end := start + 1
		for end < len(items) && items[end].Group == items[start].Group {
			end++
		}
		if _, err := checker.Check(ctx, items[start].Now, limits[start:end], verdicts[start:end]); err != nil {
			return err
		}
		start = end
	}
	for i, it := range items {
		v := verdicts[i]
		it.Decided, it.Over, it.Count, it.Remaining, it.ResetAfter = true, v.Over, v.Count, v.Remaining, v.ResetAfter
		if v.Over {
			// Until a request would be admitted again, for
			// duration_until_reset; not charged, so not in the count.
			it.ResetAfter = max(v.RetryAfter, v.ResetAfter)
		}
	}
	return nil
}

// counterLimit is an item as the store checks it, its limit and burst
// divided among the replicas counting locally (1: the whole limit).
func counterLimit(it *Item, replicas uint64) counter.Limit {
	limit, burst := shareOf(uint64(it.RequestsPerUnit), replicas), shareOf(uint64(it.Burst), replicas)
	return counter.Limit{
		Algorithm:   counterAlgorithm(it.Algorithm),
		Key:         it.Key,
		PrevKey:     it.PrevKey,
		Hits:        it.Hits,
		Limit:       limit,
		Window:      time.Duration(it.WindowSeconds()) * time.Second,
		WindowStart: it.WindowStart,
		Burst:       burst,
	}
}

// shareOf is one replica's part of n, as --on-store-down local divides
// every limit: at least 1 of a limit that admits.
func shareOf(n, replicas uint64) uint64 {
	if n == 0 {
		return 0
	}
	return max(n/replicas, 1)
}

func counterAlgorithm(a policy.Algorithm) counter.Algorithm {
	switch a {
	case policy.SlidingWindow:
		return counter.SlidingWindow
	case policy.TokenBucket:
		return counter.TokenBucket
	}
	return counter.FixedWindow
}

// decideDown answers items that decide by themselves while the store is
// down: all admitted (allow) or all denied (deny).
func decideDown(items []*Item, over bool) {
	for _, it := range items {
		it.Decided, it.Over, it.Count = true, over, 0
		it.Remaining, it.ResetAfter = uint64(it.RequestsPerUnit), 0
		if over {
			it.Remaining = 0
		}
	}
}
