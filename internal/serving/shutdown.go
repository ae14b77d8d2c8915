package serving

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Shutdown is the one deadline every step of a role's stop shares: the
// servers' drain, the flushes of what the role owes and the closes that
// follow. It starts when the role is told to stop, so that the whole stop,
// not each step, fits in Timeout.
type Shutdown struct {
	Timeout time.Duration

	once     sync.Once
	deadline time.Time
}

// NewShutdown returns a Shutdown of timeout; 1s when not positive.
func NewShutdown(timeout time.Duration) *Shutdown {
	if timeout <= 0 {
		timeout = time.Second
	}
	return &Shutdown{Timeout: timeout}
}

// Start fixes the deadline, Timeout from now; only the first call counts.
func (s *Shutdown) Start() {
	s.once.Do(func() { s.deadline = time.Now().Add(s.Timeout) })
}

// Deadline is when the stop must be over; it starts the clock if nothing
// has.
func (s *Shutdown) Deadline() time.Time {
	s.Start()
	return s.deadline
}

// Context ends at the deadline.
func (s *Shutdown) Context() (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.Background(), s.Deadline())
}

// Run runs step with a context that ends by the deadline and waits for it
// until then. A step still running then is left to the process's exit and
// logged as cut: the stop must not wait on a part that hangs (a store that
// does not answer).
func (s *Shutdown) Run(name string, step func(ctx context.Context)) {
	// The step's context ends a little before the deadline, so that a step
	// cut by it can still say what it did not finish.
	margin := min(50*time.Millisecond, s.Timeout/10)
	ctx, cancel := context.WithDeadline(context.Background(), s.Deadline().Add(-margin))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		step(ctx)
	}()
	t := time.NewTimer(time.Until(s.Deadline()))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		slog.Warn("shutdown: cut at the deadline", "step", name, "timeout", s.Timeout)
	}
}
