package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is an exponential delay between reconnect attempts, with jitter so
// that many replicas do not reconnect in step.
type Backoff struct {
	Base time.Duration // first delay; 100ms when zero
	Max  time.Duration // cap; 5s when zero
}

// Delay is the wait before attempt n (0-based).
func (b Backoff) Delay(n int) time.Duration {
	base, max := b.Base, b.Max
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	if max <= 0 {
		max = 5 * time.Second
	}
	d := base
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	// Up to 20% less, never more than Max.
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// Sleep waits for attempt n's delay or until ctx is done; it reports whether
// the wait ran to the end.
func (b Backoff) Sleep(ctx context.Context, n int) bool {
	t := time.NewTimer(b.Delay(n))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
