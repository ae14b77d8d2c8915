package counter

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/testkit"
)

// failingStore fails on demand: down makes every call and ping fail as an
// unreachable store does; keyErr makes the store answer but refuse a key.
type failingStore struct {
	down, keyErr atomic.Bool
	adds, pings  atomic.Int64
}

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}

func (f *failingStore) Add(ctx context.Context, incs []Increment, counts []uint64) error {
	f.adds.Add(1)
	switch {
	case f.down.Load():
		return errRefused
	case f.keyErr.Load():
		return &KeyErrors{Errs: []error{errors.New("WRONGTYPE")}}
	}
	for i := range counts {
		counts[i] = incs[i].Hits
	}
	return nil
}

func (f *failingStore) Ping(context.Context) error {
	f.pings.Add(1)
	if f.down.Load() {
		return errRefused
	}
	return nil
}

func (f *failingStore) Close() error { return nil }

func newTestBreaker(t *testing.T, f *failingStore, st stats.Scope) *Breaker {
	t.Helper()
	b := NewBreaker(f, f, BreakerOptions{Name: "redis://test", Stats: st, Logger: testkit.Quiet,
		Idle: time.Hour})
	t.Cleanup(b.Stop)
	return b
}

func addOne(b *Breaker) error {
	return b.Add(context.Background(), []Increment{{Key: "k", Hits: 1, Expiry: time.Minute}}, make([]uint64, 1))
}

// The breaker opens after Failures outages in a row, then fails calls
// without touching the store, and closes by itself once a ping answers.
func TestBreakerOpensAndRecovers(t *testing.T) {
	st := stats.NewStore(stats.NewNullSink(), false)
	f := &failingStore{}
	b := newTestBreaker(t, f, st)
	if err := addOne(b); err != nil || b.Down() != nil {
		t.Fatalf("store up: Add = %v, Down = %v", err, b.Down())
	}

	f.down.Store(true)
	for i := range 3 {
		err := addOne(b)
		if !errors.Is(err, ErrStoreDown) || !errors.Is(err, errRefused) {
			t.Fatalf("failure %d: %v, want ErrStoreDown wrapping the cause", i, err)
		}
	}
	down := b.Down()
	var de *DownError
	if !errors.As(down, &de) || de.Since.IsZero() || !strings.Contains(down.Error(), "redis://test") {
		t.Fatalf("after 3 failures Down() = %v, want open naming the store", down)
	}
	if got := st.NewCounter("counter_breaker_opens").Value(); got != 1 {
		t.Errorf("counter_breaker_opens = %d, want 1", got)
	}
	if got := st.NewGauge("counter_down").Value(); got != 1 {
		t.Errorf("counter_down = %d, want 1", got)
	}
	adds := f.adds.Load()
	for range 100 {
		if err := addOne(b); !errors.Is(err, ErrStoreDown) {
			t.Fatalf("open: Add = %v", err)
		}
	}
	if got := f.adds.Load(); got != adds {
		t.Fatalf("open breaker called the store %d times", got-adds)
	}

	f.down.Store(false)
	testkit.Eventually(t, "the probe to close the breaker", func() bool { return b.Down() == nil })
	if err := addOne(b); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if got := st.NewGauge("counter_down").Value(); got != 0 {
		t.Errorf("counter_down after recovery = %d, want 0", got)
	}
}

// A store that answers but refuses keys is not down, however often.
func TestBreakerKeyErrorsDoNotOpen(t *testing.T) {
	f := &failingStore{}
	f.keyErr.Store(true)
	b := newTestBreaker(t, f, nil)
	for range 10 {
		err := addOne(b)
		var ke *KeyErrors
		if !errors.As(err, &ke) || errors.Is(err, ErrStoreDown) {
			t.Fatalf("Add = %v, want the key's error, not ErrStoreDown", err)
		}
	}
	if b.Down() != nil {
		t.Fatalf("key errors opened the breaker: %v", b.Down())
	}
	// Outages are counted in a row: answers in between reset the count.
	for range 5 {
		f.down.Store(true)
		_ = addOne(b)
		_ = addOne(b)
		f.down.Store(false)
		_ = addOne(b)
	}
	if b.Down() != nil {
		t.Fatalf("outages interleaved with answers opened the breaker: %v", b.Down())
	}
}

// A store nobody calls is pinged, so health sees it down.
func TestBreakerIdlePingOpens(t *testing.T) {
	f := &failingStore{}
	f.down.Store(true)
	b := NewBreaker(f, f, BreakerOptions{Logger: testkit.Quiet, Idle: 5 * time.Millisecond})
	t.Cleanup(b.Stop)
	testkit.Eventually(t, "an idle ping to open the breaker", func() bool { return b.Down() != nil })
	if f.adds.Load() != 0 {
		t.Fatal("the breaker called Add by itself")
	}
	f.down.Store(false)
	testkit.Eventually(t, "the probe to close the breaker", func() bool { return b.Down() == nil })
}

// blockingPinger's ping hangs until its context ends.
type blockingPinger struct{ started chan struct{} }

func (p blockingPinger) Ping(ctx context.Context) error {
	p.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// Stop ends the watch even in the middle of a ping to a dead store.
func TestBreakerStopDuringPing(t *testing.T) {
	p := blockingPinger{started: make(chan struct{}, 1)}
	b := NewBreaker(&failingStore{}, p, BreakerOptions{Logger: testkit.Quiet, Idle: time.Millisecond, Timeout: time.Hour})
	testkit.Receive(t, "a ping", p.started)
	stopped := make(chan struct{})
	go func() { b.Stop(); close(stopped) }()
	testkit.Receive(t, "Stop to return", stopped)
}

// Guard leaves the in-process store alone and reuses a breaker.
func TestGuard(t *testing.T) {
	m := NewMemory()
	t.Cleanup(func() { _ = m.Close() })
	if b, stop := Guard(m, BreakerOptions{}); b != nil {
		stop()
		t.Fatal("Guard put a breaker on the in-process store")
	}
	f := &failingStore{}
	b, stop := Guard(f, BreakerOptions{Logger: testkit.Quiet})
	if b == nil {
		t.Fatal("Guard put no breaker on a shared store")
	}
	if again, stop2 := Guard(b, BreakerOptions{}); again != b {
		t.Fatal("Guard wrapped a breaker again")
	} else {
		stop2()
	}
	if b.Granter() != nil {
		t.Error("a breaker over a store that grants nothing offers Grant")
	}
	stop()
}

// BenchmarkBreakerOpen times one Add of one increment through an open
// breaker: what a caller pays while the store is down.
func BenchmarkBreakerOpen(b *testing.B) {
	f := &failingStore{}
	f.down.Store(true)
	br := NewBreaker(f, f, BreakerOptions{Logger: testkit.Quiet, Idle: time.Hour, Probe: backoffHour})
	b.Cleanup(br.Stop)
	for br.Down() == nil {
		_ = addOne(br)
	}
	incs, counts := []Increment{{Key: "k", Hits: 1, Expiry: time.Minute}}, make([]uint64, 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Add(context.Background(), incs, counts); err == nil {
			b.Fatal("open breaker let a call through")
		}
	}
}

var backoffHour = backoff.Backoff{Base: time.Hour, Max: time.Hour}
