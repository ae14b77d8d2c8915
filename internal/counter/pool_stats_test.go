package counter

import (
	"context"
	"sync"
	"testing"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/testserver"
)

// poolSink keeps the last flushed value of each gauge and the sum of each
// counter.
type poolSink struct {
	mu     sync.Mutex
	values map[string]uint64
}

func (s *poolSink) FlushCounter(name string, v uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[name] += v
}

func (s *poolSink) FlushGauge(name string, v uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[name] = v
}

func (s *poolSink) FlushTimer(string, float64) {}

func (s *poolSink) get(store gostats.Store, name string) uint64 {
	store.Flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[name]
}

// The counters' Redis clients report envoyproxy/ratelimit's pool stats
// (src/redis/driver_impl.go; src/redis/cache_impl.go names the scopes
// redis_pool and redis_per_second_pool under the server's "ratelimit"):
// connections made, open, and closed, here on real Redis.
func TestRedisPoolStats(t *testing.T) {
	main, perSecond := testserver.Redis(t), testserver.Redis(t)
	sink := &poolSink{values: map[string]uint64{}}
	stats := gostats.NewStore(sink, false)
	s, err := Open(Location{RedisURL: "redis://" + main.Addr + "/0", PerSecondRedisURL: "redis://" + perSecond.Addr + "/0",
		Batched: true, PoolStats: stats.Scope("ratelimit")})
	if err != nil {
		t.Fatal(err)
	}
	incs := []Increment{{Key: "pool_stats_minute", Hits: 1, Expiry: time.Minute}, {Key: "pool_stats_second", Hits: 1, Expiry: time.Second}}
	if err := s.Add(context.Background(), incs, make([]uint64, 2)); err != nil {
		t.Fatal(err)
	}
	for _, pool := range []string{"ratelimit.redis_pool.", "ratelimit.redis_per_second_pool."} {
		total, active := sink.get(stats, pool+"cx_total"), sink.get(stats, pool+"cx_active")
		if total < 1 || active < 1 || active > total {
			t.Errorf("%s after a command: cx_total %d, cx_active %d; want at least one made and open, no more open than made", pool, total, active)
		}
		if closed := sink.get(stats, pool+"cx_local_close"); closed != 0 {
			t.Errorf("%scx_local_close = %d before any close", pool, closed)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pool := range []string{"ratelimit.redis_pool.", "ratelimit.redis_per_second_pool."} {
		total, active, closed := sink.get(stats, pool+"cx_total"), sink.get(stats, pool+"cx_active"), sink.get(stats, pool+"cx_local_close")
		if active != 0 || closed != total {
			t.Errorf("%s after Close: cx_active %d, cx_local_close %d of cx_total %d; want every connection closed", pool, active, closed, total)
		}
	}
}
