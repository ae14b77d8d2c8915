package replica

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/policy"
)

// cacheShards spreads keys over independently locked maps so that requests
// for different keys do not contend.
const cacheShards = 64

// DecisionCacheOptions configures a DecisionCache.
type DecisionCacheOptions struct {
	// MaxEntries bounds the keys held; 1<<20 when zero. A full cache drops
	// expired entries first, then evicts.
	MaxEntries int
	// MaxBytes bounds the memory the entries hold, keys included; 256 MiB
	// when zero. Keys are at most policy.MaxPlainKey long, so the budget
	// holds at least MaxBytes/(MaxPlainKey+cacheEntryBytes) keys.
	MaxBytes int
	Stats    stats.Scope // "decision_cache" stats go here; discarded when nil
}

func (o DecisionCacheOptions) withDefaults() DecisionCacheOptions {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1 << 20
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	o.Stats = nullstats.Or(o.Stats)
	return o
}

// DecisionCache holds, per cache key, the engine's latest decision and the
// hits this replica counted since. Entries drop when their window ends.
type DecisionCache struct {
	shards        [cacheShards]cacheShard
	seed          maphash.Seed
	maxPerShard   int
	bytesPerShard int

	evictions, expired, applied, stale stats.Counter
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*cacheEntry
	// minExpiry is a lower bound of the shard's expiries: a full shard
	// sweeps only when something may have expired.
	minExpiry int64
	bytes     int      // what the entries hold, by entryBytes
	_         [24]byte // keeps neighbouring shards off one cache line
}

// cacheEntryBytes is what an entry holds besides its key: the entry, the
// map slot and the key's string header.
const cacheEntryBytes = 128

func entryBytes(key string) int { return len(key) + cacheEntryBytes }

// cacheEntry's decision fields change under the shard's write lock; local
// is atomic so a request adds its hits under the read lock.
type cacheEntry struct {
	expires int64 // window end, Unix seconds
	local   atomic.Uint64

	decided     bool
	state       decisions.State
	windowEnd   int64
	seq         uint64
	limit       uint32
	engineCount uint64
}

// CacheHit is what the cache knew about a key when a request counted in it.
type CacheHit struct {
	Throttled   bool
	EngineCount uint64 // the engine's count at its last decision
	Local       uint64 // hits counted here since, before this request
}

// NewDecisionCache returns an empty cache.
func NewDecisionCache(o DecisionCacheOptions) *DecisionCache {
	o = o.withDefaults()
	sc := o.Stats.Scope("decision_cache")
	c := &DecisionCache{
		seed:          maphash.MakeSeed(),
		maxPerShard:   max(1, o.MaxEntries/cacheShards),
		bytesPerShard: max(1, o.MaxBytes/cacheShards),
		evictions:     sc.NewCounter("evictions"),
		expired:       sc.NewCounter("expired"),
		applied:       sc.NewCounter("decisions_applied"),
		stale:         sc.NewCounter("decisions_stale"),
	}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cacheEntry)
	}
	return c
}

func (c *DecisionCache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

// Hit adds hits to key's local count and returns what the cache knew
// before. windowEnd is the key's window end, when a new entry expires.
func (c *DecisionCache) Hit(key string, windowEnd int64, hits uint64, nowUnix int64) CacheHit {
	s := c.shard(key)
	s.mu.RLock()
	if e := s.m[key]; e != nil && e.expires > nowUnix {
		r := e.read(nowUnix)
		r.Local = addLocal(&e.local, hits)
		s.mu.RUnlock()
		return r
	}
	s.mu.RUnlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[key]
	if e == nil || e.expires <= nowUnix {
		if e != nil {
			c.expired.Inc()
		}
		e = c.insert(s, key, windowEnd, nowUnix)
	}
	r := e.read(nowUnix)
	r.Local = addLocal(&e.local, hits)
	return r
}

// addLocal adds hits to a local count, saturating rather than wrapping (a
// count never goes backwards), and returns the count before. Far from the
// top, as every real count is, one atomic add cannot wrap whatever other
// adds run beside it; only near it does the add loop on compare-and-swap.
func addLocal(local *atomic.Uint64, hits uint64) uint64 {
	if local.Load() < 1<<62 && hits <= policy.MaxHits {
		return local.Add(hits) - hits
	}
	for {
		old := local.Load()
		if local.CompareAndSwap(old, policy.AddHits(old, hits)) {
			return old
		}
	}
}

func (e *cacheEntry) read(nowUnix int64) CacheHit {
	if !e.decided || e.state != decisions.Throttled || e.windowEnd <= nowUnix {
		return CacheHit{}
	}
	return CacheHit{Throttled: true, EngineCount: e.engineCount}
}

// Apply records d if it is newer than what the cache holds for its key. A
// Throttled decision restarts the local count: the engine's count already
// holds the hits reported before it.
func (c *DecisionCache) Apply(d decisions.Decision, nowUnix int64) {
	if d.WindowEnd <= nowUnix {
		c.stale.Inc()
		return
	}
	s := c.shard(d.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[d.Key]
	if e == nil || e.expires <= nowUnix {
		e = c.insert(s, d.Key, d.WindowEnd, nowUnix)
	}
	if e.decided {
		old := decisions.Decision{State: e.state, WindowEnd: e.windowEnd, Seq: e.seq}
		if !d.Newer(&old) {
			c.stale.Inc()
			return
		}
	}
	c.applied.Inc()
	e.decided, e.state, e.windowEnd, e.seq = true, d.State, d.WindowEnd, d.Seq
	e.limit, e.engineCount = d.Limit, d.Count
	e.local.Store(0)
}

// insert adds a fresh entry, making room first. Caller holds s.mu.
func (c *DecisionCache) insert(s *cacheShard, key string, expires, nowUnix int64) *cacheEntry {
	if _, ok := s.m[key]; ok {
		c.remove(s, key)
	}
	cost := entryBytes(key)
	if c.full(s, cost) {
		if nowUnix >= s.minExpiry {
			c.sweepShard(s, nowUnix)
		}
		for len(s.m) > 0 && c.full(s, cost) {
			c.evictOne(s)
		}
	}
	e := &cacheEntry{expires: expires}
	// key may point into a request's reused buffer: keep a copy.
	s.m[strings.Clone(key)] = e
	s.bytes += cost
	if len(s.m) == 1 || expires < s.minExpiry {
		s.minExpiry = expires
	}
	return e
}

// full reports whether s has no room for one more entry of cost bytes.
func (c *DecisionCache) full(s *cacheShard, cost int) bool {
	return len(s.m) >= c.maxPerShard || s.bytes+cost > c.bytesPerShard
}

// remove drops key's entry. Caller holds s.mu.
func (c *DecisionCache) remove(s *cacheShard, key string) {
	delete(s.m, key)
	s.bytes -= entryBytes(key)
}

// evictOne drops an entry, preferring one that holds no throttle: losing a
// throttle lets a key through until the engine decides again.
func (c *DecisionCache) evictOne(s *cacheShard) {
	var victim string
	seen := 0
	for k, e := range s.m {
		throttled := e.decided && e.state == decisions.Throttled
		if victim == "" || !throttled {
			victim = k
		}
		if seen++; !throttled || seen >= 8 {
			break
		}
	}
	c.remove(s, victim)
	c.evictions.Inc()
}

// sweepShard drops expired entries. Caller holds s.mu.
func (c *DecisionCache) sweepShard(s *cacheShard, nowUnix int64) {
	next := int64(0)
	for k, e := range s.m {
		if e.expires <= nowUnix {
			c.remove(s, k)
			c.expired.Inc()
			continue
		}
		if next == 0 || e.expires < next {
			next = e.expires
		}
	}
	s.minExpiry = next
}

// Sweep drops every expired entry; the async limiter calls it periodically
// so that memory follows the live keys.
func (c *DecisionCache) Sweep(nowUnix int64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		due := len(s.m) > 0 && nowUnix >= s.minExpiry
		s.mu.RUnlock()
		if due {
			s.mu.Lock()
			c.sweepShard(s, nowUnix)
			s.mu.Unlock()
		}
	}
}

// Len is the number of entries held, expired ones not yet swept included.
func (c *DecisionCache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// Bytes is the memory the entries hold, as the MaxBytes budget counts it.
func (c *DecisionCache) Bytes() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += s.bytes
		s.mu.RUnlock()
	}
	return n
}

// Lookup returns the decision in force for key, if any.
func (c *DecisionCache) Lookup(key string, nowUnix int64) (d decisions.Decision, ok bool) {
	s := c.shard(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.m[key]
	if e == nil || !e.decided || e.expires <= nowUnix || e.windowEnd <= nowUnix {
		return decisions.Decision{}, false
	}
	return decisions.Decision{Key: key, State: e.state, WindowEnd: e.windowEnd,
		Limit: e.limit, Count: e.engineCount, Seq: e.seq}, true
}
