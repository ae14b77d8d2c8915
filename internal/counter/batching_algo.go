package counter

import (
	"context"
	"fmt"
	"time"
)

var (
	_ Checker     = (*Batching)(nil)
	_ AlgoGranter = (*Batching)(nil)
)

// Check goes straight to the store beneath, unbatched: one request's limits
// are one script already.
func (b *Batching) Check(ctx context.Context, now time.Time, limits []Limit, out []Verdict) (bool, error) {
	c, ok := b.inner.(Checker)
	if !ok {
		return false, fmt.Errorf("counter: batching: check: %w", ErrUnsupported)
	}
	return c.Check(ctx, now, limits, out)
}

// GrantSliding goes straight to the store beneath.
func (b *Batching) GrantSliding(ctx context.Context, now time.Time, gs []SlidingGrant, out []Granted) error {
	g, ok := b.inner.(AlgoGranter)
	if !ok {
		return fmt.Errorf("counter: batching: sliding grant: %w", ErrUnsupported)
	}
	return g.GrantSliding(ctx, now, gs, out)
}

// GrantBucket goes straight to the store beneath.
func (b *Batching) GrantBucket(ctx context.Context, now time.Time, gs []BucketGrant, out []Granted) error {
	g, ok := b.inner.(AlgoGranter)
	if !ok {
		return fmt.Errorf("counter: batching: bucket grant: %w", ErrUnsupported)
	}
	return g.GrantBucket(ctx, now, gs, out)
}
