package counter

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// memoryShards spreads keys over enough locks that concurrent Adds rarely
// contend on one.
const memoryShards = 64

// Memory counts in this process only: the single-process default, and tests.
// A counter's expiry is fixed when it is created (as with Redis EXPIRE NX).
// Expired counters read as absent at once; a janitor frees their memory
// within a sweep period, so the store holds only live keys plus those that
// expired since the last sweep.
type Memory struct {
	shards [memoryShards]memoryShard
	seed   maphash.Seed
	start  time.Time // expiries count from here on the monotonic clock

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

type memoryShard struct {
	mu       sync.Mutex
	counters map[string]*memoryCounter
}

type memoryCounter struct {
	count   uint64
	expires time.Duration // since Memory.start
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store and starts its janitor, which Close stops.
func NewMemory() *Memory { return newMemory(time.Second) }

func newMemory(sweepEvery time.Duration) *Memory {
	m := &Memory{seed: maphash.MakeSeed(), start: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
	for i := range m.shards {
		m.shards[i].counters = make(map[string]*memoryCounter)
	}
	go m.janitor(sweepEvery)
	return m
}

// Add never blocks on anything but a shard lock; ctx is not consulted.
func (m *Memory) Add(_ context.Context, incs []Increment, counts []uint64) error {
	if err := checkAdd(incs, counts); err != nil {
		return err
	}
	if m.closed.Load() {
		return ErrClosed
	}
	now := time.Since(m.start)
	for i, inc := range incs {
		sh := &m.shards[maphash.String(m.seed, inc.Key)%memoryShards]
		sh.mu.Lock()
		c := sh.counters[inc.Key]
		switch {
		case c == nil && inc.Hits == 0:
			// A read of a missing counter does not create it.
			sh.mu.Unlock()
			counts[i] = 0
			continue
		case c == nil:
			// The caller's key may live in a reused buffer: keep a copy.
			c = &memoryCounter{expires: now + inc.Expiry}
			sh.counters[strings.Clone(inc.Key)] = c
		case c.expires <= now:
			*c = memoryCounter{expires: now + inc.Expiry}
		}
		c.count += inc.Hits
		counts[i] = c.count
		sh.mu.Unlock()
	}
	return nil
}

// Close stops the janitor and waits for it to exit. Later Adds fail.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		m.closed.Store(true)
		close(m.stop)
	})
	<-m.done
	return nil
}

func (m *Memory) janitor(every time.Duration) {
	defer close(m.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			m.sweep()
		}
	}
}

// sweep frees expired counters, one shard lock at a time so Adds on other
// shards proceed meanwhile.
func (m *Memory) sweep() {
	for i := range m.shards {
		sh := &m.shards[i]
		now := time.Since(m.start)
		sh.mu.Lock()
		for k, c := range sh.counters {
			if c.expires <= now {
				delete(sh.counters, k)
			}
		}
		sh.mu.Unlock()
	}
}

// len counts the counters held, live or not yet swept.
func (m *Memory) len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.counters)
		sh.mu.Unlock()
	}
	return n
}
