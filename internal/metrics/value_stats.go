package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"

	gostats "github.com/lyft/gostats"
)

// ValueStatsOptions bound a ValueStats.
type ValueStatsOptions struct {
	// MaxKeys is how many keys may hold counters at once; a new key past
	// it is counted under the overflow key. 10 000 when zero.
	MaxKeys int
	// IdleFlushes is after how many flushes without a hit a key is freed
	// (its series leave /metrics; a later hit starts it again from zero,
	// which Prometheus reads as a counter reset). 6 when zero.
	IdleFlushes int
	// Tags are appended to every counter's name as gostats serializes
	// them (TagSuffix), as a tagged scope's counters are.
	Tags map[string]string
}

func (o ValueStatsOptions) withDefaults() ValueStatsOptions {
	if o.MaxKeys <= 0 {
		o.MaxKeys = 10_000
	}
	if o.IdleFlushes <= 0 {
		o.IdleFlushes = 6
	}
	return o
}

// ValueStats holds counters named at run time from request values (the
// detailed_metric and override stats of envoyproxy/ratelimit). gostats
// keeps every counter it ever made, so such names, chosen by whoever sends
// requests, would grow a process without bound (476 MiB, and a 51.7 MB
// /metrics, in the issue that found it). A ValueStats keeps at most MaxKeys
// keys, counts the rest under one overflow key, frees keys that go idle,
// and flushes to its sinks itself, as a gostats StatGenerator.
type ValueStats struct {
	o ValueStatsOptions

	mu       sync.RWMutex
	keys     map[string]*ValueKey
	overflow *ValueKey
	counters []string     // the counter names of every key
	suffix   string       // the tags, serialized, after every counter name
	sink     gostats.Sink // set by Attach
	freed    uint64
}

// ValueKey is one key's counters, each named key + "." + counter.
type ValueKey struct {
	name     string
	counters []*valueCounter
	idle     int // flushes without a hit; guarded by ValueStats.mu
	// Value is what the caller built for this key (its stats struct),
	// made once by the build function given to Key.
	Value any
}

// valueCounter is a gostats.Counter that lives only as long as its key.
type valueCounter struct {
	name    string
	n       atomic.Uint64
	flushed uint64 // guarded by ValueStats.mu
}

func (c *valueCounter) Add(d uint64)   { c.n.Add(d) }
func (c *valueCounter) Inc()           { c.n.Add(1) }
func (c *valueCounter) Set(v uint64)   { c.n.Store(v) }
func (c *valueCounter) String() string { return strconv.FormatUint(c.n.Load(), 10) }
func (c *valueCounter) Value() uint64  { return c.n.Load() }

// Counter is the key's counter named by the i-th of the ValueStats'
// counter names.
func (k *ValueKey) Counter(i int) gostats.Counter { return k.counters[i] }

// NewValueStats returns an empty ValueStats whose overflow key is named
// overflow. Every key has the counters named by counters.
func NewValueStats(o ValueStatsOptions, overflow string, counters []string) *ValueStats {
	v := &ValueStats{o: o.withDefaults(), keys: map[string]*ValueKey{}, suffix: TagSuffix(o.Tags)}
	v.counters = counters
	v.overflow = v.newValueKey(overflow)
	return v
}

func (v *ValueStats) newValueKey(name string) *ValueKey {
	k := &ValueKey{name: name, counters: make([]*valueCounter, len(v.counters))}
	for i, c := range v.counters {
		k.counters[i] = &valueCounter{name: name + "." + c + v.suffix}
	}
	return k
}

// Attach makes store flush v to sink with its own stats: call it once, for
// the store whose sink is sink.
func (v *ValueStats) Attach(store gostats.Store, sink gostats.Sink) {
	v.mu.Lock()
	v.sink = sink
	v.mu.Unlock()
	store.AddStatGenerator(v)
}

// Key returns name's counters, made (with build, whose result is the
// key's Value) if there is room, else the overflow key's.
func (v *ValueStats) Key(name string, build func(*ValueKey) any) *ValueKey {
	v.mu.RLock()
	k := v.keys[name]
	v.mu.RUnlock()
	if k != nil {
		return k
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if k := v.keys[name]; k != nil {
		return k
	}
	if len(v.keys) >= v.o.MaxKeys {
		if v.overflow.Value == nil {
			v.overflow.Value = build(v.overflow)
		}
		return v.overflow
	}
	k = v.newValueKey(name)
	k.Value = build(k)
	v.keys[name] = k
	return k
}

// Len is the number of keys holding counters, the overflow key aside.
func (v *ValueStats) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.keys)
}

// Freed is how many idle keys were freed so far.
func (v *ValueStats) Freed() uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.freed
}

// GenerateStats implements gostats.StatGenerator: it flushes what each key
// counted since the last flush to the attached sink, and frees the keys
// idle for IdleFlushes flushes. A hit racing with its key's freeing may be
// lost; a key is freed only after flushes without one.
func (v *ValueStats) GenerateStats() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.flushKey(v.overflow)
	var forget []string
	for name, k := range v.keys {
		if v.flushKey(k) {
			k.idle = 0
			continue
		}
		if k.idle++; k.idle < v.o.IdleFlushes {
			continue
		}
		delete(v.keys, name)
		v.freed++
		for _, c := range k.counters {
			forget = append(forget, c.name)
		}
	}
	if f, ok := v.sink.(Forgetter); ok && len(forget) > 0 {
		f.Forget(forget...)
	}
}

// flushKey flushes k's deltas and reports whether there were any.
func (v *ValueStats) flushKey(k *ValueKey) bool {
	hit := false
	for _, c := range k.counters {
		n := c.n.Load()
		if n == c.flushed {
			continue
		}
		hit = true
		if v.sink != nil {
			v.sink.FlushCounter(c.name, n-c.flushed)
		}
		c.flushed = n
	}
	return hit
}

// A Forgetter is a sink that holds series (the Bridge) and can drop
// those of freed keys.
type Forgetter interface {
	Forget(names ...string)
}
