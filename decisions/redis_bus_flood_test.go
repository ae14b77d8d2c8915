package decisions

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	stats "github.com/lyft/gostats"
	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// The decision-flood tests hold floodN throttles in force: the issue saw
// 699 000 keep Redis 60% and the engine 49% busy with no traffic.
const floodN = 50_000

// floodBus is a bus whose refresh loop never runs by itself (the tests
// call refresh), with its stats kept.
func floodBus(t *testing.T, addr string, timeout time.Duration) (*RedisBus, stats.Store) {
	t.Helper()
	st := stats.NewStore(stats.NewNullSink(), false)
	b, err := NewRedisBus(RedisBusOptions{
		Endpoints:       []redis.UniversalClient{redisClient(t, addr)},
		Names:           []string{addr},
		Backoff:         backoff.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		RefreshInterval: time.Hour,
		Timeout:         timeout,
		Stats:           st,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, st
}

func floodDecisions(n int, end int64) []Decision {
	ds := make([]Decision, n)
	for i := range ds {
		ds[i] = Decision{Domain: "api", Key: fmt.Sprintf("api_user_u%06d_0", i), State: Throttled, WindowEnd: end, Limit: 10, Count: 11, Seq: uint64(i + 1)}
	}
	return ds
}

// A new subscriber catches up on every decision in force, a page at a
// time, even when taking them in lasts longer than one Timeout (a replica
// applying hundreds of thousands of decisions): each page has its own
// deadline. Before, one deadline covered the whole catch-up, which failed
// and started over on every reconnect.
func TestRedisBusCatchUpPagesThroughAFlood(t *testing.T) {
	srv := testserver.Redis(t)
	pub, _ := floodBus(t, srv.Addr, 5*time.Second)
	if err := pub.Publish(context.Background(), floodDecisions(floodN, inAMinute())); err != nil {
		t.Fatal(err)
	}

	const timeout = 100 * time.Millisecond
	sub, st := floodBus(t, srv.Addr, timeout)
	var mu sync.Mutex
	seen := map[string]bool{}
	slowOnce := sync.Once{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sub.Subscribe(ctx, func(d Decision) {
			// The consumer of the first page is slower than a whole
			// Timeout: a replica busy applying a large catch-up.
			slowOnce.Do(func() { <-time.After(3 * timeout) })
			mu.Lock()
			seen[d.Key] = true
			mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		testkit.Receive(t, "Subscribe to return", done)
	})
	testkit.Eventually(t, "the subscription live after its catch-up", sub.Connected)
	mu.Lock()
	got := len(seen)
	mu.Unlock()
	if got != floodN {
		t.Fatalf("caught up on %d decisions, want %d", got, floodN)
	}
	if pages := st.NewCounter("bus.catch_up_pages").Value(); pages < 2 {
		t.Errorf("catch-up took %d pages, want it paged", pages)
	}
	if n := st.NewCounter("bus.reconnects").Value(); n != 0 {
		t.Errorf("the catch-up failed and reconnected %d times", n)
	}
}

// A refresh with nothing changed asks Redis about no decision; one after a
// publish asks about that publish only; one after Redis lost everything
// restores everything.
func TestRedisBusRefreshFollowsChange(t *testing.T) {
	srv := testserver.Redis(t)
	b, st := floodBus(t, srv.Addr, 5*time.Second)
	ctx := context.Background()
	checked := st.NewCounter("bus.refresh_checked")
	end := inAMinute()
	if err := b.Publish(ctx, floodDecisions(floodN, end)); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.refresh(ctx)) // the first refresh: what was published
	before := checked.Value()
	for range 3 {
		must(b.refresh(ctx))
	}
	if n := checked.Value() - before; n != 0 {
		t.Fatalf("3 refreshes with nothing changed checked %d decisions, want 0 (%d in force)", n, floodN)
	}

	must(b.Publish(ctx, []Decision{{Key: "one-more", State: Throttled, WindowEnd: end, Seq: 1}}))
	before = checked.Value()
	must(b.refresh(ctx))
	if n := checked.Value() - before; n != 1 {
		t.Fatalf("a refresh after one publish checked %d decisions, want 1", n)
	}

	// Redis loses everything (a restart without persistence).
	c := redisClient(t, srv.Addr)
	must(c.FlushAll(ctx).Err())
	must(b.refresh(ctx))
	if n, err := c.HLen(ctx, b.activeKey).Result(); err != nil || n != floodN+1 {
		t.Fatalf("after a refresh of an emptied Redis it holds %d decisions (%v), want %d", n, err, floodN+1)
	}
}
