package counter

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/nullstats"
)

// BreakerOptions configure a Breaker. The zero value works.
type BreakerOptions struct {
	// Name names the store in errors, logs and health (after "counter
	// store"); never put a password in it.
	Name string
	// Timeout bounds one call to the store, whatever the caller's
	// deadline: a dead store fails in bounded time, and a caller that
	// gives up sooner cannot hide the outage. 1s when zero.
	Timeout time.Duration
	// Failures is how many calls in a row must fail with an outage
	// (a connection error, a timeout) to open the breaker; 3 when zero.
	// One call's blip does not open it; a dead store opens it within a
	// few calls. One failed ping opens it too.
	Failures int
	// Idle is how often a store that answered no call since is pinged,
	// so that health sees an outage of an idle store; 1s when zero.
	Idle time.Duration
	// Probe spaces the pings while open; 50ms doubling to 1s when zero.
	Probe backoff.Backoff
	// Stats get the gauge counter_down (1 while open) and the counter
	// counter_breaker_opens; discarded when nil.
	Stats  stats.Scope
	Logger *slog.Logger // slog.Default() when nil
}

func (o BreakerOptions) withDefaults() BreakerOptions {
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Failures <= 0 {
		o.Failures = 3
	}
	if o.Idle <= 0 {
		o.Idle = time.Second
	}
	if o.Probe.Base <= 0 {
		o.Probe.Base = 50 * time.Millisecond
	}
	if o.Probe.Max <= 0 {
		o.Probe.Max = time.Second
	}
	o.Stats = nullstats.Or(o.Stats)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Breaker is a circuit breaker in front of a shared store: once the store
// stops answering, calls fail at once with a *DownError instead of each
// waiting for the network, until a ping in the background finds the store
// answering again. Errors of single keys (KeyErrors where the store
// answered) are not outages and never open it.
type Breaker struct {
	inner   Store
	granter Granter // nil when inner grants nothing
	pinger  Pinger
	o       BreakerOptions

	down     atomic.Pointer[DownError] // nil while closed
	failures atomic.Int64              // outages in a row while closed
	answered atomic.Bool               // a call succeeded since the last idle ping
	opened   chan struct{}             // wakes the watch to probe at once

	opens     stats.Counter
	downGauge stats.Gauge

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

var (
	_ Store        = (*Breaker)(nil)
	_ Granter      = (*Breaker)(nil)
	_ DownReporter = (*Breaker)(nil)
)

// NewBreaker guards inner, whose backend p pings (inner itself, or the
// store a Batching wraps). Its watch goroutine runs until Stop or Close.
func NewBreaker(inner Store, p Pinger, o BreakerOptions) *Breaker {
	o = o.withDefaults()
	b := &Breaker{inner: inner, pinger: p, o: o,
		opened: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		opens: o.Stats.NewCounter("counter_breaker_opens"), downGauge: o.Stats.NewGauge("counter_down")}
	b.granter, _ = inner.(Granter)
	go b.watch()
	return b
}

// Guard returns the breaker of s: s itself when it is a Breaker (stop then
// does nothing: its owner stops it), a new one over s when s is a shared
// store (a Pinger), or nil for the in-process store, which has no outages.
// stop ends the new breaker's goroutine and leaves s open: the caller owns
// s.
func Guard(s Store, o BreakerOptions) (b *Breaker, stop func()) {
	if b, ok := s.(*Breaker); ok {
		return b, func() {}
	}
	p, ok := s.(Pinger)
	if !ok {
		return nil, func() {}
	}
	b = NewBreaker(s, p, o)
	return b, b.Stop
}

// Granter is the breaker as a Granter when the store beneath grants, else
// nil (memcached).
func (b *Breaker) Granter() Granter {
	if b.granter == nil {
		return nil
	}
	return b
}

// Down is the *DownError while the breaker is open, nil while the store
// answers. Safe on a nil Breaker.
func (b *Breaker) Down() error {
	if b == nil {
		return nil
	}
	if d := b.down.Load(); d != nil {
		return d
	}
	return nil
}

// Add adds through the store unless the breaker is open.
func (b *Breaker) Add(ctx context.Context, incs []Increment, counts []uint64) error {
	if d := b.down.Load(); d != nil {
		return d
	}
	if err := checkAdd(incs, counts); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.o.Timeout)
	err := b.inner.Add(cctx, incs, counts)
	cancel()
	return b.observe(err)
}

// Grant grants through the store unless the breaker is open.
func (b *Breaker) Grant(ctx context.Context, gs []Grant, out []Granted) error {
	if b.granter == nil {
		return errors.New("counter: this store grants no leases")
	}
	if d := b.down.Load(); d != nil {
		return d
	}
	if err := checkGrant(gs, out); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.o.Timeout)
	err := b.granter.Grant(cctx, gs, out)
	cancel()
	return b.observe(err)
}

// observe counts a call's outcome and returns its error, as a *DownError
// when it was an outage.
func (b *Breaker) observe(err error) error {
	if !isOutage(err) {
		if err == nil || !errors.Is(err, ErrClosed) && !errors.Is(err, ErrBatchingClosed) {
			// The store answered, if only to refuse a key.
			b.failures.Store(0)
			b.answered.Store(true)
		}
		return err
	}
	if b.failures.Add(1) >= int64(b.o.Failures) {
		b.open(err)
	}
	if d := b.down.Load(); d != nil {
		return d
	}
	return &DownError{Store: b.o.Name, Err: err}
}

// open opens the breaker, once per outage, and wakes the watch to probe.
func (b *Breaker) open(cause error) {
	d := &DownError{Store: b.o.Name, Since: time.Now(), Err: cause}
	if !b.down.CompareAndSwap(nil, d) {
		return
	}
	b.opens.Inc()
	b.downGauge.Set(1)
	b.o.Logger.Warn("counter store down: calls fail at once until it answers a ping",
		"store", b.o.Name, "err", cause)
	select {
	case b.opened <- struct{}{}:
	default:
	}
}

func (b *Breaker) close() {
	d := b.down.Swap(nil)
	if d == nil {
		return
	}
	b.failures.Store(0)
	b.downGauge.Set(0)
	b.o.Logger.Info("counter store answers again", "store", b.o.Name, "down_for", time.Since(d.Since).Round(time.Millisecond))
}

// watch pings the store: with backoff while the breaker is open, to close
// it; every Idle while closed, when no call has shown the store answering.
func (b *Breaker) watch() {
	defer close(b.done)
	t := time.NewTimer(b.o.Idle)
	defer t.Stop()
	attempt := 0
	for {
		select {
		case <-b.stop:
			return
		case <-b.opened:
			attempt = 0
		case <-t.C:
		}
		open := b.down.Load() != nil
		if open || !b.answered.Swap(false) {
			err := b.ping()
			switch {
			case err == nil:
				b.close()
				open = false
			case !open:
				b.open(err)
				open = true
			}
		}
		next := b.o.Idle
		if open {
			next = b.o.Probe.Delay(attempt)
			attempt++
		}
		t.Reset(next)
	}
}

func (b *Breaker) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), b.o.Timeout)
	defer cancel()
	// Stop must not wait out a ping to a dead store.
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return b.pinger.Ping(ctx)
}

// Stop ends the breaker's goroutine; the store stays open. Calls still
// work, but an open breaker stays open.
func (b *Breaker) Stop() {
	b.stopOnce.Do(func() { close(b.stop) })
	<-b.done
}

// Close stops the breaker and closes the store beneath.
func (b *Breaker) Close() error {
	b.Stop()
	return b.inner.Close()
}
