package integration

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

const (
	asyncOK   = rlsv3.RateLimitResponse_OK
	asyncOver = rlsv3.RateLimitResponse_OVER_LIMIT
)

// TestAsync runs Floodgate's default mode end to end: a real Redis, two
// throttle engines and three RLS replicas, each replica streaming its hits
// to the engines and hearing decisions over Redis. Every subtest starts a
// deployment of its own, so each runs alone as well as in the suite.
func TestAsync(t *testing.T) {
	t.Run("limit crossed on all replicas, lifted at window end", testAsyncWindow)
	t.Run("engine killed mid-load", testAsyncEngineKilled)
	t.Run("redis restarted", testAsyncRedisRestart)
}

// testAsyncWindow drives a per-minute key past its limit through all three
// replicas. No replica alone reaches the limit of 30; the engines see 31
// and every replica answers OVER_LIMIT until the window ends. The clock
// every component reads stands still until the test moves it into the
// next window.
func testAsyncWindow(t *testing.T) {
	clock := cluster.NewClock(time.Now())
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Now: clock.Now, Mode: replica.ModeReport})
	const value = "k"
	for i := range 30 {
		if code := ask(t, c, i%3, "min", value); code != asyncOK {
			t.Fatalf("request %d of 30 answered %v", i+1, code)
		}
	}
	ask(t, c, 0, "min", value) // the 31st
	testkit.Eventually(t, "every replica answers OVER_LIMIT", func() bool {
		return everyReplicaAnswers(t, c, "min", value, asyncOver)
	})
	// The next minute is a new window: every replica lets the key through.
	clock.Advance(time.Minute)
	for i := range 3 {
		if code := ask(t, c, i, "min", value); code != asyncOK {
			t.Fatalf("replica %d still answers %v in the next window", i, code)
		}
	}
}

// testAsyncEngineKilled kills both engines under load: no request fails.
// A new engine on the same Redis carries the count on.
func testAsyncEngineKilled(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Mode: replica.ModeReport})
	const value = "load"
	var failed, sent atomic.Int64
	load := func(n int) {
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range n {
					if ask(t, c, i, "hour", value) != asyncOK {
						failed.Add(1)
					}
					sent.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	load(50) // 150 hits, under the limit of 300
	key := asyncCacheKey("hour", value, policy.Hour, time.Now())
	rc := c.RedisClient(t)
	counted := func() int64 {
		n, _ := rc.Get(t.Context(), asyncCounterPrefix+key).Int64()
		return n
	}
	testkit.Eventually(t, "150 hits counted in Redis", func() bool { return counted() == 150 })

	// Kill one engine in the middle of the load, then the other.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); load(20) }()
	testkit.Eventually(t, "the second load under way", func() bool { return sent.Load() >= 150+15 })
	c.StopEngine(0)
	wg.Wait()
	c.StopEngine(1)
	testkit.Eventually(t, "engines gone", func() bool {
		for i := range 3 {
			if c.Limiter(i).Health().EngineConnected {
				return false
			}
		}
		return true
	})
	load(10) // answered from what the replicas know
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests under the limit were refused", failed.Load(), sent.Load())
	}
	before := counted()
	if before < 150 || before > 210 {
		t.Fatalf("Redis holds %d hits, want 150 plus part of the 60 sent while engines died", before)
	}
	// The reporter counts hits as dropped when its next flush finds no engine.
	testkit.Eventually(t, "dropped hits counted while no engine was up", func() bool {
		return c.Limiter(0).Health().DroppedHits > 0
	})

	// A new engine where the first one was: counting resumes from Redis.
	if err := c.RestartEngine(0); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "replicas reconnected", c.Connected)
	want := 300 - int(before)
	extra := 0
	for ; extra < 300; extra++ {
		r := extra % 3
		if extra > want {
			// The engine has been sent the hit that crosses the limit: wait
			// for it to count every hit sent so far and, once that is over
			// the limit, for its throttle to reach the replica, instead of
			// sending hits faster than decisions travel.
			testkit.Eventually(t, "the extra hits counted", func() bool { return counted() >= before+int64(extra) })
			if counted() > 300 {
				testkit.Eventually(t, "the throttle on the replica", func() bool { return throttledIn(c.Limiter(r), key, 300) })
			}
		}
		if ask(t, c, r, "hour", value) == asyncOver {
			break
		}
	}
	// Without the carried count the key would need 300 more hits. Hits
	// answered while no engine was up and still queued in a replica when
	// Redis was read reach the new engine too, and bring the throttle
	// earlier by as many.
	queued := int(sent.Load() - before)
	if extra < want-queued || extra > want+60 {
		t.Fatalf("throttled after %d more hits, want about %d (Redis held %d, %d more answered then)", extra, want, before, queued)
	}
	if !throttledIn(c.Limiter(1), key, 300) {
		d, found := c.Limiter(1).Cache().Lookup(key, time.Now().Unix())
		t.Fatalf("replica 1 holds decision %+v (%v), want a throttle over 300", d, found)
	}
}

// testAsyncRedisRestart restarts Redis, which loses every key: the engine
// restores the decisions in force, the replicas reconnect, and a replica
// that never saw the decision catches up on it.
func testAsyncRedisRestart(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Mode: replica.ModeReport})
	const value = "restart"
	for i := range 300 {
		if code := ask(t, c, i%3, "hour", value); code != asyncOK {
			t.Fatalf("request %d of 300 answered %v", i+1, code)
		}
	}
	testkit.Eventually(t, "every replica answers OVER_LIMIT", func() bool {
		return everyReplicaAnswers(t, c, "hour", value, asyncOver)
	})

	c.StopRedis()
	testkit.Eventually(t, "replicas lose the bus", func() bool {
		return !c.Limiter(0).Health().BusConnected
	})
	// Redis is down: the replicas answer from their caches.
	for i := range 3 {
		if code := ask(t, c, i, "hour", value); code != asyncOver {
			t.Fatalf("with Redis down replica %d answers %v", i, code)
		}
	}
	c.StartRedis()
	testkit.Eventually(t, "replicas back on the bus", func() bool {
		for i := range 3 {
			if !c.Limiter(i).Health().BusConnected {
				return false
			}
		}
		return true
	})
	// This replica reaches no engine, so only a decision makes it refuse.
	fresh, err := c.AddReplica("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "a new replica catches up on the throttle", func() bool {
		return ask(t, c, fresh, "hour", value) == asyncOver
	})
}
