package replica

import (
	"context"
	"testing"
	"time"
)

// A request waits for a grant no longer than the lease wait, nor so long
// that its answer would miss the caller's deadline.
func TestWaitWithinTheCallersDeadline(t *testing.T) {
	const wait = 50 * time.Millisecond
	if got := waitWithin(context.Background(), wait); got != wait {
		t.Fatalf("no deadline: %v, want the lease wait %v", got, wait)
	}
	for _, left := range []time.Duration{time.Second, 50 * time.Millisecond, 20 * time.Millisecond, 2 * time.Millisecond, -time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), left)
		got := waitWithin(ctx, wait)
		cancel()
		switch {
		case got < 0 || got > wait:
			t.Errorf("deadline in %v: %v, want within [0, %v]", left, got, wait)
		case got > max(left-max(left/4, answerMargin), 0):
			t.Errorf("deadline in %v: %v leaves no margin to answer", left, got)
		case left == time.Second && got != wait:
			t.Errorf("deadline in %v: %v, want the lease wait", left, got)
		case left == 20*time.Millisecond && got < 10*time.Millisecond:
			t.Errorf("deadline in %v (Envoy's default): %v, want most of it", left, got)
		}
	}
}
