package integration

import (
	"context"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/internal/envoywire"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// The minute rule is the one a test crosses a window boundary of: its
// counter in Redis expires on the wall clock a minute after its first hit,
// which no run outlasts, while the test moves every component's clock.
// The wide rule is large enough for leases to hold tokens ahead: its
// overdraft over three replicas is ⌊0.005·3000/3⌋ = 5.
const asyncPolicy = `
domain: integ
descriptors:
  - key: min
    rate_limit:
      unit: minute
      requests_per_unit: 30
  - key: hour
    rate_limit:
      unit: hour
      requests_per_unit: 300
  - key: wide
    rate_limit:
      unit: hour
      requests_per_unit: 3000
`

const asyncCounterPrefix = "integ:"

func asyncSnapshot(t testing.TB) *policy.Snapshot { return testkit.Compile(t, asyncPolicy) }

// startAsync runs Floodgate's default mode over a Redis of the test's own:
// o.Engines engines and o.Replicas replicas, every component with its own
// connections to Redis, hits reported and counted every 5ms.
func startAsync(t testing.TB, o cluster.Options) *clustertest.Cluster {
	t.Helper()
	clearOfHourEnd(hourMargin)
	o.Snapshot, o.CounterPrefix = asyncSnapshot(t), asyncCounterPrefix
	if o.FlushInterval == 0 {
		o.FlushInterval = 5 * time.Millisecond
	}
	if o.ReportInterval == 0 {
		o.ReportInterval = 5 * time.Millisecond
	}
	return clustertest.Start(t, o)
}

// ask sends replica i one ShouldRateLimit for key=value, encoded as Envoy
// encodes it (value bytes unchecked), failing the test on any error: a
// replica must answer whatever its dependencies do.
func ask(t testing.TB, c *clustertest.Cluster, i int, key, value string) rlsv3.RateLimitResponse_Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.Client(i).ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{
		Domain: "integ",
		Descriptors: []*commonrl.RateLimitDescriptor{{
			Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}},
		}},
	}, grpc.ForceCodecV2(envoywire.Codec{}))
	if err != nil {
		t.Fatalf("replica %d: ShouldRateLimit: %v", i, err)
	}
	return resp.GetOverallCode()
}

// everyReplicaAnswers reports whether every replica answers want for
// key=value; each question is a hit.
func everyReplicaAnswers(t testing.TB, c *clustertest.Cluster, key, value string, want rlsv3.RateLimitResponse_Code) bool {
	t.Helper()
	for i := range c.Replicas() {
		if ask(t, c, i, key, value) != want {
			return false
		}
	}
	return true
}

// throttledIn reports whether l holds the engines' throttle of key, over
// a limit of limit.
func throttledIn(l *replica.Limiter, key string, limit uint64) bool {
	d, found := l.Cache().Lookup(key, time.Now().Unix())
	return found && d.Count > limit
}

// asyncCacheKey is the key replicas and engines use for key=value now.
func asyncCacheKey(key, value string, unit policy.Unit, now time.Time) string {
	entries := []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}
	return string(policy.AppendCacheKey(nil, "", "integ", entries, nil, unit.WindowStart(now.Unix())))
}

// hourMargin is more than any async test takes: one started this close to
// the end of an hour waits for the next, so that its "hour" key's window
// does not change under it (a key's count, lease and fallback share all
// start afresh in a new window).
const hourMargin = 20 * time.Second

// clearOfHourEnd returns once the current hour has more than margin left.
func clearOfHourEnd(margin time.Duration) {
	now := time.Now()
	if left := now.Truncate(time.Hour).Add(time.Hour).Sub(now); left <= margin {
		time.Sleep(left + 100*time.Millisecond)
	}
}
