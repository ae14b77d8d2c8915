package replica

import (
	"strconv"
	"sync"
	"testing"

	"github.com/floodgate/floodgate/decisions"
)

func TestDecisionCacheHitAndApply(t *testing.T) {
	c := NewDecisionCache(DecisionCacheOptions{})
	const key, end = "api_user_alice_100", int64(101)
	throttle := func(count, seq uint64) decisions.Decision {
		return decisions.Decision{Key: key, State: decisions.Throttled, WindowEnd: end, Limit: 10, Count: count, Seq: seq}
	}
	steps := []struct {
		name  string
		apply *decisions.Decision
		now   int64
		end   int64 // the key's window end; end when zero
		hits  uint64
		want  CacheHit
	}{
		{name: "first hit", now: 100, hits: 3, want: CacheHit{}},
		{name: "local count grows", now: 100, hits: 2, want: CacheHit{Local: 3}},
		{name: "throttle resets local", apply: ptr(throttle(11, 5)), now: 100, hits: 1, want: CacheHit{Throttled: true, EngineCount: 11}},
		{name: "older decision ignored", apply: ptr(throttle(20, 4)), now: 100, hits: 1, want: CacheHit{Throttled: true, EngineCount: 11, Local: 1}},
		{name: "newer decision applies", apply: ptr(throttle(15, 6)), now: 100, hits: 1, want: CacheHit{Throttled: true, EngineCount: 15}},
		{name: "release", apply: &decisions.Decision{Key: key, State: decisions.Released, WindowEnd: end, Seq: 1}, now: 100, hits: 1, want: CacheHit{}},
		// Contrived: a real key carries its window start, so a new window
		// is a new key; an entry must not outlive its window either way.
		{name: "window end drops the entry", now: 101, end: 102, hits: 1, want: CacheHit{}},
		{name: "expired decision ignored", apply: ptr(throttle(30, 9)), now: 101, end: 102, hits: 1, want: CacheHit{Local: 1}},
	}
	for _, s := range steps {
		if s.apply != nil {
			c.Apply(*s.apply, s.now)
		}
		if s.end == 0 {
			s.end = end
		}
		if got := c.Hit(key, s.end, s.hits, s.now); got != s.want {
			t.Errorf("%s: Hit = %+v, want %+v", s.name, got, s.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// A decision for a key this replica has not seen yet is kept for it.
func TestDecisionCacheApplyUnseenKey(t *testing.T) {
	c := NewDecisionCache(DecisionCacheOptions{})
	c.Apply(decisions.Decision{Key: "k", State: decisions.Throttled, WindowEnd: 200, Limit: 1, Count: 7, Seq: 1}, 100)
	if got := c.Hit("k", 200, 1, 150); !got.Throttled || got.EngineCount != 7 {
		t.Fatalf("Hit = %+v, want throttled at 7", got)
	}
	if d, ok := c.Lookup("k", 150); !ok || d.Count != 7 {
		t.Fatalf("Lookup = %+v, %v", d, ok)
	}
	if _, ok := c.Lookup("k", 200); ok {
		t.Fatal("Lookup found an expired decision")
	}
}

func TestDecisionCacheBounded(t *testing.T) {
	c := NewDecisionCache(DecisionCacheOptions{MaxEntries: cacheShards * 2})
	// Expired entries make room first.
	for i := range 1000 {
		c.Hit("old"+strconv.Itoa(i), 100, 1, 99)
	}
	if n := c.Len(); n > cacheShards*2 {
		t.Fatalf("cache holds %d entries, max %d", n, cacheShards*2)
	}
	evicted := c.evictions.Value()
	if evicted == 0 {
		t.Fatal("a full cache of live entries evicted nothing")
	}
	for i := range 1000 {
		c.Hit("new"+strconv.Itoa(i), 200, 1, 150)
	}
	if c.expired.Value() == 0 {
		t.Error("expired entries were not dropped first")
	}
	if n := c.Len(); n > cacheShards*2 {
		t.Fatalf("cache holds %d entries, max %d", n, cacheShards*2)
	}
	c.Sweep(200)
	if n := c.Len(); n != 0 {
		t.Fatalf("after the sweep %d entries remain", n)
	}
}

// Throttled keys are the last to go when the cache must evict.
func TestDecisionCacheEvictsUnthrottledFirst(t *testing.T) {
	c := NewDecisionCache(DecisionCacheOptions{MaxEntries: cacheShards * 8})
	var keys []string
	for i := range 64 * 4 {
		k := "t" + strconv.Itoa(i)
		keys = append(keys, k)
		c.Apply(decisions.Decision{Key: k, State: decisions.Throttled, WindowEnd: 200, Seq: 1}, 100)
	}
	for i := range 5000 {
		c.Hit("u"+strconv.Itoa(i), 200, 1, 100)
	}
	kept := 0
	for _, k := range keys {
		if _, ok := c.Lookup(k, 100); ok {
			kept++
		}
	}
	// Eviction samples a few entries, so a throttle may go when its shard
	// is mostly throttles; most must stay.
	if kept < len(keys)*3/4 {
		t.Fatalf("kept %d of %d throttled keys", kept, len(keys))
	}
}

func TestDecisionCacheConcurrent(t *testing.T) {
	c := NewDecisionCache(DecisionCacheOptions{MaxEntries: 1 << 16})
	const workers, perWorker = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				c.Hit("shared", 200, 1, 100)
				c.Hit("k"+strconv.Itoa(i%50), 200, 1, 100)
				if i%100 == 0 {
					c.Apply(decisions.Decision{Key: "d" + strconv.Itoa(w), State: decisions.Throttled,
						WindowEnd: 200, Seq: uint64(i)}, 100)
					c.Sweep(100)
				}
			}
		}()
	}
	wg.Wait()
	if got := c.Hit("shared", 200, 0, 100); got.Local != workers*perWorker {
		t.Fatalf("shared key counted %d hits, want %d", got.Local, workers*perWorker)
	}
}
