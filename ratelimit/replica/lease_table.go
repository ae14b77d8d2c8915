package replica

import (
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// leaseTable holds the replica's leases by cache key (window included),
// bounded in entries and bytes; a key it has no room for is answered by
// the engine-down fallback, and counted.
type leaseTable struct {
	shards        [cacheShards]leaseShard
	seed          maphash.Seed
	maxPerShard   int
	bytesPerShard int
}

type leaseShard struct {
	mu    sync.RWMutex
	m     map[string]*lease
	bytes int
	_     [24]byte
}

func newLeaseTable(maxEntries, maxBytes int) *leaseTable {
	t := &leaseTable{
		seed:          maphash.MakeSeed(),
		maxPerShard:   max(1, maxEntries/cacheShards),
		bytesPerShard: max(1, maxBytes/cacheShards),
	}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*lease)
	}
	return t
}

// lookup returns key's lease, nil when there is none.
func (t *leaseTable) lookup(key string) *lease {
	s := &t.shards[maphash.String(t.seed, key)%cacheShards]
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[key]
}

// get returns it's lease, making one with overdraft tokens of cold credit
// when there is none; nil when the table is full. index is which limit of
// its descriptor's rate_limits it is.
func (t *leaseTable) get(it *ratelimit.Item, index int, overdraft int64) *lease {
	if l := t.lookup(it.Key); l != nil {
		return l
	}
	l := &lease{
		key:       strings.Clone(it.Key), // it.Key lives in a reused buffer
		windowEnd: it.WindowStart + it.WindowSeconds(),
		window:    it.WindowSeconds(),
		limit:     leaseLimit(it),
		algo:      it.Algorithm,
		credit:    overdraft,
		sync:      overdraft == 0,
	}
	if it.Algorithm == policy.TokenBucket {
		l.windowEnd = math.MaxInt64
		l.lapses.Store(it.Now.Add(bucketLeaseLife).Unix())
	}
	l.overdraft.Store(overdraft)
	l.ask.Domain, l.ask.Entries, l.ask.Limit, l.ask.WindowStart = it.Domain, wireEntries(it.Entries), wireOverride(it), it.WindowStart
	l.ask.LimitIndex = uint32(index)
	stored, _ := t.insert(l)
	return stored
}

// next makes the lease of the window after l's, for tokens granted before
// that window starts; nil when it exists or the table is full. A key ends
// in its window start, whatever its encoding.
func (t *leaseTable) next(l *lease) *lease {
	start := l.ask.WindowStart + l.window
	n := &lease{
		key:       strings.TrimSuffix(l.key, strconv.FormatInt(l.ask.WindowStart, 10)) + strconv.FormatInt(start, 10),
		windowEnd: l.windowEnd + l.window,
		window:    l.window,
		limit:     l.limit,
		algo:      l.algo,
		credit:    l.credit,
		sync:      l.sync,
	}
	n.overdraft.Store(l.credit)
	n.epoch.Store(l.epoch.Load()) // as busy as l: not idle before its window starts
	n.ask.Domain, n.ask.Entries, n.ask.Limit, n.ask.WindowStart = l.ask.Domain, l.ask.Entries, l.ask.Limit, start
	n.ask.LimitIndex = l.ask.LimitIndex
	if _, existed := t.insert(n); existed {
		return nil
	}
	return n
}

// insert puts l in the table within its bounds. It returns the lease the
// table holds for l's key, and whether that one was there before; nil when
// the table has no room for l.
func (t *leaseTable) insert(l *lease) (stored *lease, existed bool) {
	s := &t.shards[maphash.String(t.seed, l.key)%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.m[l.key]; old != nil {
		return old, true
	}
	cost := leaseBytes(l)
	if len(s.m) >= t.maxPerShard || s.bytes+cost > t.bytesPerShard {
		return nil, false
	}
	s.m[l.key] = l
	s.bytes += cost
	return l, false
}

// sweep calls fn for every lease, and drops those whose window has ended
// or, a bucket's, lapsed (fn sees them after, with ended set).
func (t *leaseTable) sweep(nowUnix int64, fn func(l *lease, ended bool)) {
	for i := range t.shards {
		s := &t.shards[i]
		var ended []*lease
		s.mu.RLock()
		for _, l := range s.m {
			if l.ended(nowUnix) {
				ended = append(ended, l)
				continue
			}
			fn(l, false)
		}
		s.mu.RUnlock()
		if len(ended) == 0 {
			continue
		}
		s.mu.Lock()
		for _, l := range ended {
			delete(s.m, l.key)
			s.bytes -= leaseBytes(l)
		}
		s.mu.Unlock()
		for _, l := range ended {
			fn(l, true)
		}
	}
}

// leaseBytes is what a lease holds: its key (twice: the entry and the
// map), its descriptor and the entry itself.
func leaseBytes(l *lease) int {
	n := 2*len(l.key) + len(l.ask.Domain) + 320
	for _, e := range l.ask.Entries {
		n += len(e.GetKey()) + len(e.GetValue()) + 64
	}
	return n
}

// Len is the leases held.
func (t *leaseTable) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// bucketLeaseLife is how long a token bucket's lease lasts before its first
// grant, which sets when it lapses (the engine's own life for it).
const bucketLeaseLife = 5 * time.Second

// leaseLimit is the most a lease of it can hold: its limit, or a token
// bucket's burst (the bucket's size; its limit when 0).
func leaseLimit(it *ratelimit.Item) uint64 {
	if it.Algorithm == policy.TokenBucket && it.Burst > 0 {
		return uint64(it.Burst)
	}
	return uint64(it.RequestsPerUnit)
}
