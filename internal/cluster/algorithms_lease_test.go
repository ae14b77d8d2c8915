package cluster_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// Limits large enough that each replica holds leases and an overdraft
// (d = ⌊0.005 × 1200 / 3⌋ = 2), and small ones that are granted per
// request.
const algoPolicy = `
domain: test
descriptors:
  - key: sw
    rate_limit: {unit: minute, requests_per_unit: 1200, algorithm: sliding_window}
  - key: tb
    rate_limit: {unit: second, requests_per_unit: 200, burst: 1200, algorithm: token_bucket}
  - key: both
    rate_limits:
      - {unit: minute, requests_per_unit: 100, name: per_min}
      - {unit: hour, requests_per_unit: 60, name: per_hour}
`

// algoReplicas is the fleet of the algorithm tests: 3 replicas over 2
// engines, every replica counting the fleet as 3 from the start.
const algoReplicas = 3

// startAlgo runs the algorithm tests' cluster on Redis in lease mode, on
// clock.
func startAlgo(t *testing.T, clock *cluster.Clock) *clustertest.Cluster {
	t.Helper()
	return clustertest.Start(t, cluster.Options{Engines: 2, Replicas: algoReplicas,
		Snapshot: testkit.Compile(t, algoPolicy), Now: clock.Now,
		Leases: replica.LeaseOptions{MaxReplicas: algoReplicas}})
}

// flood sends n requests for key=value at full speed, from 4 callers per
// replica, and returns how many were admitted.
func flood(t *testing.T, c *clustertest.Cluster, key, value string, n int) int {
	t.Helper()
	var admitted, next atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 * c.Replicas() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := c.Client(w % c.Replicas())
			for next.Add(1) <= int64(n) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				resp, err := cl.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "test",
					Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}}}})
				cancel()
				if err != nil {
					t.Errorf("replica %d: ShouldRateLimit: %v", w%c.Replicas(), err)
					return
				}
				if resp.GetOverallCode() == rlsv3.RateLimitResponse_OK {
					admitted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(admitted.Load())
}

// statusOf is replica i's answer for key=value's descriptor.
func statusOf(t *testing.T, c *clustertest.Cluster, i int, key, value string) *rlsv3.RateLimitResponse_DescriptorStatus {
	t.Helper()
	resp, err := c.Client(i).ShouldRateLimit(t.Context(), &rlsv3.RateLimitRequest{Domain: "test",
		Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}}}})
	if err != nil {
		t.Fatalf("replica %d: ShouldRateLimit: %v", i, err)
	}
	return resp.GetStatuses()[0]
}

// overdraftBound is what the fleet may admit past a limit: N·d.
func overdraftBound(limit int) int { return algoReplicas * int(0.005*float64(limit)/algoReplicas) }

// A sliding window refuses a burst across a window boundary: the limit
// sent in a window's last seconds still counts, nearly whole, at the next
// window's start, where a fixed window would admit the limit again.
func TestLeaseSlidingWindowAcrossBoundary(t *testing.T) {
	start := time.Now().Truncate(time.Minute)
	clock := cluster.NewClock(start.Add(54 * time.Second)) // f = 0.9
	c := startAlgo(t, clock)
	const limit = 1200
	first := flood(t, c, "sw", "a", 2*limit)
	t.Logf("window's last 6s: %d admitted of %d (limit %d)", first, 2*limit, limit)
	if first > limit+overdraftBound(limit) || first < limit*9/10 {
		t.Fatalf("first window admitted %d, want about %d and at most %d", first, limit, limit+overdraftBound(limit))
	}

	// 6s into the next window the previous one weighs 0.9: about a tenth
	// of the limit is left (a fixed window would admit 1200).
	clock.Advance(12 * time.Second)
	second := flood(t, c, "sw", "a", limit)
	allowed := limit - first*9/10
	t.Logf("next window's first 6s: %d admitted (estimate allows %d; a fixed window %d)", second, allowed, limit)
	if second > allowed+overdraftBound(limit)+1 {
		t.Fatalf("across the boundary %d admitted, the estimate allows %d", second, allowed)
	}

	// Denied, it says when the estimate next admits one: within a second
	// here, not at the window's end.
	for i := range algoReplicas {
		st := statusOf(t, c, i, "sw", "a")
		if st.GetCode() != rlsv3.RateLimitResponse_OVER_LIMIT || st.GetDurationUntilReset().AsDuration() > 2*time.Second {
			t.Fatalf("replica %d after the limit: %v, reset in %v; want OVER_LIMIT, within 2s", i, st.GetCode(), st.GetDurationUntilReset().AsDuration())
		}
	}

	// Halfway through, the previous window weighs half.
	clock.Advance(24 * time.Second)
	third := flood(t, c, "sw", "a", limit)
	allowed = limit - (first+1)/2 - second
	t.Logf("at half the window: %d more admitted (estimate allows %d)", third, allowed)
	if third > allowed+overdraftBound(limit)+1 || third < allowed*8/10 {
		t.Fatalf("at half the window %d admitted, the estimate allows %d", third, allowed)
	}
}

// A token bucket admits its burst at once, then its refill rate.
func TestLeaseTokenBucketBurstThenRate(t *testing.T) {
	clock := cluster.NewClock(time.Now())
	c := startAlgo(t, clock)
	const rate, burst = 200, 1200
	first := flood(t, c, "tb", "a", 2*burst)
	t.Logf("burst: %d admitted of %d (burst %d)", first, 2*burst, burst)
	if first > burst+overdraftBound(burst) || first < burst*95/100 {
		t.Fatalf("burst admitted %d, want about %d and at most %d", first, burst, burst+overdraftBound(burst))
	}
	for i := range algoReplicas {
		st := statusOf(t, c, i, "tb", "a")
		if st.GetCode() != rlsv3.RateLimitResponse_OVER_LIMIT || st.GetDurationUntilReset().AsDuration() > time.Second {
			t.Fatalf("replica %d after the burst: %v, reset in %v; want OVER_LIMIT, the next token within 1s", i, st.GetCode(), st.GetDurationUntilReset().AsDuration())
		}
	}
	total := first
	for range 10 {
		clock.Advance(100 * time.Millisecond)
		total += flood(t, c, "tb", "a", rate)
	}
	refill := total - first
	t.Logf("over the next second: %d admitted (rate %d/s)", refill, rate)
	if total > burst+rate+overdraftBound(burst) || refill < rate*8/10 {
		t.Fatalf("after the burst a second admitted %d (total %d), want about %d and at most %d in all",
			refill, total, rate, burst+rate+overdraftBound(burst))
	}
}

// Several limits are charged all or none: requests the hourly limit denies
// take nothing from the per-minute one.
func TestLeaseSeveralLimitsAllOrNone(t *testing.T) {
	clock := cluster.NewClock(time.Now())
	c := startAlgo(t, clock)
	admitted := flood(t, c, "both", "a", 160)
	if admitted != 60 {
		t.Fatalf("%d admitted, want the hourly limit, 60", admitted)
	}
	rc := c.RedisClient(t)
	keys, err := rc.Keys(t.Context(), "*per_min*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("per-minute counters %v: %v", keys, err)
	}
	// Tokens a denied request took stay with the replica until the key
	// is idle, then go back: the count ends at what was admitted.
	testkit.Eventually(t, "the per-minute count back at the 60 admitted", func() bool {
		n, err := rc.Get(t.Context(), keys[0]).Int()
		if err != nil {
			t.Fatal(err)
		}
		if n < 60 {
			t.Fatalf("per-minute limit granted %d, fewer than the 60 admitted", n)
		}
		return n == 60
	})
}
