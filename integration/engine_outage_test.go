package integration

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// Both engines die under load, then return. While they are gone the
// replica answers but reports itself unhealthy; every hit it answered is
// either counted in Redis or counted as dropped, those the engines took
// with them included; and once they are back it reconnects at once.
func TestEngineOutageLosesNothingSilently(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 1, Mode: replica.ModeReport})
	lim := c.Limiter(0)
	health := lim.HealthCheck()
	if ok, detail := health(); !ok {
		t.Fatalf("unhealthy with both engines up: %v", detail)
	}
	value := "outage-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	key := asyncCacheKey("hour", value, policy.Hour, time.Now())
	rc := c.RedisClient(t)
	counted := func() uint64 {
		n, _ := rc.Get(t.Context(), asyncCounterPrefix+key).Uint64()
		return n
	}
	var answered atomic.Uint64
	load := func(n int) {
		for range n {
			ask(t, c, 0, "hour", value)
			answered.Add(1)
		}
	}

	// The engines die one after the other while hits stream to them.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); load(200) }()
	testkit.Eventually(t, "load under way", func() bool { return answered.Load() >= 40 })
	c.StopEngine(0)
	testkit.Eventually(t, "more load", func() bool { return answered.Load() >= 80 })
	c.StopEngine(1)
	wg.Wait()
	testkit.Eventually(t, "the replica unhealthy with no engine", func() bool { ok, _ := health(); return !ok })
	load(20) // answered, and dropped
	testkit.Eventually(t, "every answered hit counted or dropped", func() bool {
		return counted()+lim.Health().DroppedHits >= answered.Load()
	})
	t.Logf("engines down: %d answered, %d counted, %d dropped", answered.Load(), counted(), lim.Health().DroppedHits)

	// Back: the replica reconnects within its short backoff, not seconds.
	start := time.Now()
	var back time.Duration
	for i := range 2 {
		if err := c.RestartEngine(i); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, "both engines reconnected", func() bool {
		if lim.Health().EnginesConnected < 2 {
			return false
		}
		back = time.Since(start)
		return true
	})
	t.Logf("reconnected %v after the engines returned", back)
	if ok, detail := health(); !ok {
		t.Fatalf("unhealthy with both engines back: %v", detail)
	}
	dropped := lim.Health().DroppedHits
	load(50)
	testkit.Eventually(t, "hits after the return counted", func() bool {
		return counted()+dropped >= answered.Load()
	})
	if d := lim.Health().DroppedHits; d != dropped {
		t.Fatalf("%d hits dropped with both engines back", d-dropped)
	}
}
