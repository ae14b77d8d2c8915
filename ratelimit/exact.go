package ratelimit

import (
	"context"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
)

// ExactLimiter counts every hit synchronously in a shared counter store:
// one round trip per request, the answers of envoyproxy/ratelimit.
type ExactLimiter struct {
	store counter.Store
}

// NewExactLimiter counts in store.
func NewExactLimiter(store counter.Store) *ExactLimiter { return &ExactLimiter{store: store} }

// Limit adds each item's hits to its window's counter.
func (l *ExactLimiter) Limit(ctx context.Context, items []*Item) error {
	incs := make([]counter.Increment, len(items))
	counts := make([]uint64, len(items))
	for i, it := range items {
		incs[i] = counter.Increment{
			Key:    it.Key,
			Hits:   it.Hits,
			Expiry: time.Duration(it.Unit.Seconds()) * time.Second,
		}
	}
	if err := l.store.Add(ctx, incs, counts); err != nil {
		return err
	}
	for i, it := range items {
		it.Count = counts[i]
	}
	return nil
}

var _ Limiter = (*ExactLimiter)(nil)
