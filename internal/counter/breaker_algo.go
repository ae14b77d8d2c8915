package counter

import (
	"context"
	"fmt"
	"time"
)

var (
	_ Checker     = (*Breaker)(nil)
	_ AlgoGranter = (*Breaker)(nil)
)

// guarded runs call on the store beneath unless the breaker is open, bounded
// by the breaker's Timeout, and counts its outcome as Add's is.
func (b *Breaker) guarded(ctx context.Context, call func(context.Context) error) error {
	if d := b.down.Load(); d != nil {
		return d
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.o.Timeout)
	err := call(cctx)
	cancel()
	return b.observe(err)
}

// Check checks through the store when it is a Checker.
func (b *Breaker) Check(ctx context.Context, now time.Time, limits []Limit, out []Verdict) (bool, error) {
	c, ok := b.inner.(Checker)
	if !ok {
		return false, fmt.Errorf("counter: %s: check: %w", b.o.Name, ErrUnsupported)
	}
	if err := checkLimits(now, limits, out); err != nil {
		return false, err
	}
	var admitted bool
	err := b.guarded(ctx, func(ctx context.Context) (err error) {
		admitted, err = c.Check(ctx, now, limits, out)
		return err
	})
	return admitted, err
}

// GrantSliding grants through the store when it is an AlgoGranter.
func (b *Breaker) GrantSliding(ctx context.Context, now time.Time, gs []SlidingGrant, out []Granted) error {
	g, ok := b.inner.(AlgoGranter)
	if !ok {
		return fmt.Errorf("counter: %s: sliding grant: %w", b.o.Name, ErrUnsupported)
	}
	if err := checkSlidingGrants(gs, out); err != nil {
		return err
	}
	return b.guarded(ctx, func(ctx context.Context) error { return g.GrantSliding(ctx, now, gs, out) })
}

// GrantBucket grants through the store when it is an AlgoGranter.
func (b *Breaker) GrantBucket(ctx context.Context, now time.Time, gs []BucketGrant, out []Granted) error {
	g, ok := b.inner.(AlgoGranter)
	if !ok {
		return fmt.Errorf("counter: %s: bucket grant: %w", b.o.Name, ErrUnsupported)
	}
	if _, err := checkBucketGrants(gs, out); err != nil {
		return err
	}
	return b.guarded(ctx, func(ctx context.Context) error { return g.GrantBucket(ctx, now, gs, out) })
}
