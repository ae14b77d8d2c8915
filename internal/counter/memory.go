package counter

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/nullstats"
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
	shards        [memoryShards]memoryShard
	seed          maphash.Seed
	start         time.Time // expiries count from here on the monotonic clock
	bytesPerShard int
	evictions     stats.Counter
	fair          memoryFair // demand and got records of grants shared by demand

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

type memoryShard struct {
	mu       sync.Mutex
	counters map[string]*memoryCounter
	bytes    int // what counters hold, by counterBytes
}

// MemoryOptions configures a Memory store.
type MemoryOptions struct {
	// MaxBytes bounds the memory the counters hold, keys included; 256 MiB
	// when zero. A full store drops an expired counter, else a live one
	// (that key then counts from zero: evictions are counted).
	MaxBytes int
	Stats    stats.Scope // "counter.memory" stats go here; discarded when nil
}

func (o MemoryOptions) withDefaults() MemoryOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	o.Stats = nullstats.Or(o.Stats)
	return o
}

// counterBytes is what a counter holds: its key, the counter and the map
// slot.
func counterBytes(key string) int { return len(key) + 96 }

type memoryCounter struct {
	count   uint64        // a token bucket's TAT: its whole µs
	rem     uint64        // a token bucket's TAT: the rest, in 1/rate µs
	expires time.Duration // since Memory.start
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store with the default options and starts its
// janitor, which Close stops.
func NewMemory() *Memory { return NewMemoryWith(MemoryOptions{}) }

// NewMemoryWith returns an empty store and starts its janitor, which Close
// stops.
func NewMemoryWith(o MemoryOptions) *Memory { return newMemory(o, time.Second) }

func newMemory(o MemoryOptions, sweepEvery time.Duration) *Memory {
	o = o.withDefaults()
	m := &Memory{seed: maphash.MakeSeed(), start: time.Now(),
		bytesPerShard: max(1, o.MaxBytes/memoryShards),
		evictions:     o.Stats.Scope("counter.memory").NewCounter("evictions"),
		stop:          make(chan struct{}), done: make(chan struct{})}
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
			c = m.create(sh, inc.Key, now+inc.Expiry, now)
		case c.expires <= now:
			*c = memoryCounter{expires: now + inc.Expiry}
		}
		c.count = addSaturating(c.count, inc.Hits)
		counts[i] = c.count
		sh.mu.Unlock()
	}
	return nil
}

// create makes key's counter, evicting others to keep the shard within its
// budget. Caller holds sh.mu.
func (m *Memory) create(sh *memoryShard, key string, expires, now time.Duration) *memoryCounter {
	cost := counterBytes(key)
	for len(sh.counters) > 0 && sh.bytes+cost > m.bytesPerShard {
		m.evictOne(sh, now)
	}
	// The caller's key may live in a reused buffer: keep a copy.
	c := &memoryCounter{expires: expires}
	sh.counters[strings.Clone(key)] = c
	sh.bytes += cost
	return c
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
			m.fair.sweep(time.Since(m.start))
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
				sh.bytes -= counterBytes(k)
			}
		}
		sh.mu.Unlock()
	}
}

// evictOne drops an expired counter among the first few it looks at, else
// the last of them. Caller holds sh.mu.
func (m *Memory) evictOne(sh *memoryShard, now time.Duration) {
	var victim string
	seen := 0
	for k, c := range sh.counters {
		victim = k
		if seen++; c.expires <= now || seen >= 8 {
			break
		}
	}
	if c := sh.counters[victim]; c.expires > now {
		m.evictions.Inc()
	}
	delete(sh.counters, victim)
	sh.bytes -= counterBytes(victim)
}

// Bytes is the memory the counters hold, as the MaxBytes budget counts it.
func (m *Memory) Bytes() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += sh.bytes
		sh.mu.Unlock()
	}
	return n
}

// Evictions counts the live counters dropped to stay within MaxBytes.
func (m *Memory) Evictions() uint64 { return m.evictions.Value() }

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
