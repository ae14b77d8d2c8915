package integration

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/policy"
)

// drive sends calls requests for hour=value spread over every replica from
// workers callers at once, and returns how many were admitted.
func drive(t *testing.T, c *clustertest.Cluster, value string, workers, calls int) int {
	t.Helper()
	return load{key: "hour", value: value, workers: workers, calls: calls}.run(t, c)
}

// load is calls requests for key=value from workers callers at once,
// spread over replicas (every replica when nil).
type load struct {
	key, value     string
	replicas       []int
	workers, calls int
	// admitted, when set, counts admissions as they happen, for a test
	// that acts mid-load.
	admitted *atomic.Int64
}

// run sends the load and returns how many requests were admitted. A
// request that fails fails the test: a replica answers whatever its
// dependencies do.
func (ld load) run(t *testing.T, c *clustertest.Cluster) int {
	t.Helper()
	if ld.replicas == nil {
		for i := range c.Replicas() {
			ld.replicas = append(ld.replicas, i)
		}
	}
	var admitted, sent atomic.Int64
	var wg sync.WaitGroup
	for w := range ld.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := c.Client(ld.replicas[w%len(ld.replicas)])
			for sent.Add(1) <= int64(ld.calls) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				resp, err := client.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "integ",
					Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: ld.key, Value: ld.value}}}}})
				cancel()
				if err != nil {
					t.Errorf("ShouldRateLimit: %v", err)
					return
				}
				if resp.GetOverallCode() == rlsv3.RateLimitResponse_OK {
					admitted.Add(1)
					if ld.admitted != nil {
						ld.admitted.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	return int(admitted.Load())
}

// grantedIn reads the window's granted count the engines keep in Redis.
func grantedIn(t *testing.T, c *clustertest.Cluster, value string) int {
	t.Helper()
	key := asyncCounterPrefix + asyncCacheKey("hour", value, policy.Hour, time.Now())
	n, err := c.RedisClient(t).Get(t.Context(), key).Int()
	if err != nil {
		t.Fatalf("granted count %s: %v", key, err)
	}
	return n
}

// Three replicas and two engines on one key, every caller at full speed:
// the replicas admit the limit, within the overdraft, whether the key was
// cold when the load began or warm, and the engines never grant past it.
func TestLeasesHoldTheLimitUnderLoad(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3})
	const limit = 300 // the hour rule
	for _, phase := range []string{"cold", "warm"} {
		value := "load-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		admitted := 0
		if phase == "warm" {
			// Some grants are out before the load.
			admitted = drive(t, c, value, 3, 30)
		}
		admitted += drive(t, c, value, 24, 3*limit)
		t.Logf("%s key: admitted %d of %d", phase, admitted, limit)
		// The overdraft is ⌊0.005·300/3⌋ = 0: leases alone admit.
		if admitted > limit || admitted < limit*97/100 {
			t.Errorf("%s key: admitted %d of limit %d", phase, admitted, limit)
		}
		if g := grantedIn(t, c, value); g > limit {
			t.Errorf("%s key: %d granted in Redis, over the limit %d", phase, g, limit)
		}
	}
}

// One request after the other, round the replicas: every one under the
// limit is admitted, none over it.
func TestLeasesAdmitEveryRequestUnderTheLimit(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3})
	value := "seq-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range 300 {
		if code := ask(t, c, i%3, "hour", value); code != asyncOK {
			t.Fatalf("request %d of 300 answered %v", i+1, code)
		}
	}
	for i := range 3 {
		if code := ask(t, c, i, "hour", value); code != asyncOver {
			t.Fatalf("replica %d over the limit answers %v", i, code)
		}
	}
}
