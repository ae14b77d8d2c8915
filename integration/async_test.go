package integration

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/policy"
)

const (
	asyncOK   = rlsv3.RateLimitResponse_OK
	asyncOver = rlsv3.RateLimitResponse_OVER_LIMIT
)

// TestAsync runs Floodgate's default mode end to end: a real Redis, two
// throttle engines and three RLS replicas, each replica streaming its hits
// to the engines and hearing decisions asyncOver Redis.
func TestAsync(t *testing.T) {
	rds := testserver.Redis(t)
	e1 := startAsyncEngine(t, rds.Addr, "")
	e2 := startAsyncEngine(t, rds.Addr, "")
	var replicas []*asyncReplica
	for range 3 {
		replicas = append(replicas, startAsyncReplica(t, rds.Addr, e1.addr, e2.addr))
	}
	asyncEventually(t, "replicas connected", func() bool {
		for _, r := range replicas {
			if h := r.limiter.Health(); !h.EngineConnected || !h.BusConnected || h.EnginesConnected != 2 {
				return false
			}
		}
		return true
	})

	t.Run("limit crossed on all replicas, lifted at window end", func(t *testing.T) {
		testAsyncWindow(t, replicas)
	})
	t.Run("engine killed mid-load", func(t *testing.T) {
		testAsyncEngineKilled(t, rds.Addr, replicas, e1, e2)
	})
	t.Run("redis restarted", func(t *testing.T) {
		testAsyncRedisRestart(t, rds, replicas)
	})
}

// testAsyncWindow drives a per-second key past its limit through all three
// replicas. No replica alone reaches the limit of 30; the engines see 31
// and every replica answers OVER_LIMIT until the second ends.
func testAsyncWindow(t *testing.T, replicas []*asyncReplica) {
	for attempt := range 3 {
		// Start at the top of a second so the window outlasts the test.
		now := time.Now()
		time.Sleep(now.Truncate(time.Second).Add(time.Second + 20*time.Millisecond).Sub(now))
		start := time.Now()
		value := "k" + string(rune('a'+attempt))
		for i := range 30 {
			if c := replicas[i%3].ask(t, "sec", value); c != asyncOK {
				t.Fatalf("request %d of 30 answered %v", i+1, c)
			}
		}
		replicas[0].ask(t, "sec", value) // the 31st
		throttled := func() bool {
			for _, r := range replicas {
				if r.ask(t, "sec", value) != asyncOver {
					return false
				}
			}
			return true
		}
		for !throttled() && time.Since(start) < 900*time.Millisecond {
			time.Sleep(5 * time.Millisecond)
		}
		if time.Now().Truncate(time.Second) != start.Truncate(time.Second) {
			t.Logf("attempt %d ran past its second (slow machine); again", attempt+1)
			continue
		}
		if !throttled() {
			t.Fatal("replicas did not all answer OVER_LIMIT within the second")
		}
		// The next second is a new window: every replica lets the key through.
		time.Sleep(time.Until(start.Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
		for i, r := range replicas {
			if c := r.ask(t, "sec", value); c != asyncOK {
				t.Fatalf("replica %d still answers %v in the next window", i, c)
			}
		}
		return
	}
	t.Fatal("no attempt fitted in one second")
}

// testAsyncEngineKilled kills both engines under load: no request fails.
// A new engine on the same Redis carries the count on.
func testAsyncEngineKilled(t *testing.T, redisAddr string, replicas []*asyncReplica, e1, e2 *asyncEngine) {
	const value = "load"
	var failed, sent atomic.Int64
	load := func(n int) {
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range n {
					if r.ask(t, "hour", value) != asyncOK {
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
	rc := asyncRedisClient(t, redisAddr)
	asyncEventually(t, "150 hits counted in Redis", func() bool {
		n, _ := rc.Get(t.Context(), "integ:"+key).Int64()
		return n == 150
	})

	// Kill one engine in the middle of the load, then the other.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); load(20) }()
	time.Sleep(20 * time.Millisecond)
	e1.kill()
	wg.Wait()
	e2.kill()
	asyncEventually(t, "engines gone", func() bool {
		for _, r := range replicas {
			if r.engineConnected() {
				return false
			}
		}
		return true
	})
	load(10) // answered from what the replicas know
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests under the limit were refused", failed.Load(), sent.Load())
	}
	before, _ := rc.Get(t.Context(), "integ:"+key).Int64()
	if before < 150 || before > 210 {
		t.Fatalf("Redis holds %d hits, want 150 plus part of the 60 sent while engines died", before)
	}
	// The reporter counts hits as dropped when its next flush finds no engine.
	asyncEventually(t, "dropped hits counted while no engine was up", func() bool {
		return replicas[0].limiter.Health().DroppedHits > 0
	})

	// A new engine where the first one was: counting resumes from Redis.
	startAsyncEngine(t, redisAddr, e1.addr)
	asyncEventually(t, "replicas reconnected", func() bool {
		for _, r := range replicas {
			if !r.engineConnected() {
				return false
			}
		}
		return true
	})
	extra := 0
	for ; extra < 300; extra++ {
		if replicas[extra%3].ask(t, "hour", value) == asyncOver {
			break
		}
		if extra >= int(300-before) {
			time.Sleep(2 * time.Millisecond) // let the engine's decision arrive
		}
	}
	// Without the carried count the key would need 300 more hits.
	if want := 300 - int(before); extra < want || extra > want+60 {
		t.Fatalf("throttled after %d more hits, want about %d (Redis held %d)", extra, want, before)
	}
	d, found := replicas[1].limiter.Cache().Lookup(key, time.Now().Unix())
	if !found || d.Count <= 300 {
		t.Fatalf("replica 1 holds decision %+v (%v), want a throttle over 300", d, found)
	}
}

// testAsyncRedisRestart restarts Redis, which loses every key: the engine
// restores the decisions in force, the replicas reconnect, and a replica
// that never saw the decision catches up on it.
func testAsyncRedisRestart(t *testing.T, rds *testserver.Server, replicas []*asyncReplica) {
	for _, r := range replicas {
		if c := r.ask(t, "hour", "load"); c != asyncOver {
			t.Fatalf("before the restart a replica answers %v", c)
		}
	}
	rds.Stop()
	asyncEventually(t, "replicas lose the bus", func() bool {
		return !replicas[0].limiter.Health().BusConnected
	})
	// Redis is down: the replicas answer from their caches.
	for _, r := range replicas {
		if c := r.ask(t, "hour", "load"); c != asyncOver {
			t.Fatalf("with Redis down a replica answers %v", c)
		}
	}
	rds.Start()
	asyncEventually(t, "replicas back on the bus", func() bool {
		for _, r := range replicas {
			if !r.limiter.Health().BusConnected {
				return false
			}
		}
		return true
	})
	// This replica reaches no engine, so only a decision makes it refuse.
	fresh := startAsyncReplica(t, rds.Addr, "127.0.0.1:1")
	asyncEventually(t, "a new replica catches up on the throttle", func() bool {
		return fresh.ask(t, "hour", "load") == asyncOver
	})
}
