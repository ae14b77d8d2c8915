package cluster_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// Windows of a minute and an hour: long enough that the Redis and memory
// counters, which expire on the wall clock, outlast any test.
const testPolicy = `
domain: test
descriptors:
  - key: min
    rate_limit: {unit: minute, requests_per_unit: 3}
  - key: hour
    rate_limit: {unit: hour, requests_per_unit: 10}
`

func snapshot(t testing.TB) *policy.Snapshot { return testkit.Compile(t, testPolicy) }

func start(t testing.TB, o cluster.Options) *cluster.Cluster {
	t.Helper()
	o.Snapshot, o.Logger = snapshot(t), testkit.Quiet
	c, err := cluster.Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type replicas interface {
	Replicas() int
	Client(i int) rlsv3.RateLimitServiceClient
}

func ask(t testing.TB, c replicas, i int, key, value string) rlsv3.RateLimitResponse_Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.Client(i).ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "test",
		Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}}}})
	if err != nil {
		t.Fatalf("replica %d: ShouldRateLimit: %v", i, err)
	}
	return resp.GetOverallCode()
}

// everyReplica reports whether every replica answers want for key=value.
func everyReplica(t testing.TB, c replicas, key, value string, want rlsv3.RateLimitResponse_Code) bool {
	for i := range c.Replicas() {
		if ask(t, c, i, key, value) != want {
			return false
		}
	}
	return true
}

// takeOver sends limit requests spread over the replicas, all admitted,
// and waits until every replica refuses the next.
func takeOver(t testing.TB, c replicas, key, value string, limit int) {
	t.Helper()
	for i := range limit {
		if code := ask(t, c, i%c.Replicas(), key, value); code != rlsv3.RateLimitResponse_OK {
			t.Fatalf("request %d of %d answered %v", i+1, limit, code)
		}
	}
	testkit.Eventually(t, "every replica over the limit", func() bool {
		return everyReplica(t, c, key, value, rlsv3.RateLimitResponse_OVER_LIMIT)
	})
}

func TestStartInMemory(t *testing.T) {
	c := start(t, cluster.Options{Engines: 2, Replicas: 3})
	if n := len(c.EngineAddrs()); n != 2 {
		t.Fatalf("%d engine addresses, want 2", n)
	}
	if n := len(c.ReplicaAddrs()); n != 3 || c.Replicas() != 3 {
		t.Fatalf("%d replica addresses, want 3", n)
	}
	for i := range 3 {
		if h := c.Limiter(i).Health(); !h.EngineConnected || h.EnginesConnected != 2 || !h.BusConnected {
			t.Fatalf("replica %d after Start: %+v", i, h)
		}
	}
	takeOver(t, c, "hour", "a", 10)
	if !everyReplica(t, c, "hour", "b", rlsv3.RateLimitResponse_OK) {
		t.Fatal("another key is refused")
	}
}

// A test steps over a window boundary with the clock instead of waiting.
func TestClockCrossesWindow(t *testing.T) {
	clock := cluster.NewClock(time.Now())
	c := start(t, cluster.Options{Replicas: 2, Now: clock.Now, Mode: replica.ModeReport})
	takeOver(t, c, "min", "x", 3)
	clock.Advance(time.Minute)
	if !everyReplica(t, c, "min", "x", rlsv3.RateLimitResponse_OK) {
		t.Fatal("the next minute is still refused")
	}
}

// A stopped engine's replicas carry on with the others; a restarted one
// takes up the count its predecessor left in Redis.
func TestStopAndRestartEngine(t *testing.T) {
	c := clustertest.Start(t, cluster.Options{Engines: 2, Replicas: 2, Snapshot: snapshot(t)})
	for i := range 5 {
		if code := ask(t, c, i%2, "hour", "r"); code != rlsv3.RateLimitResponse_OK {
			t.Fatalf("request %d answered %v", i+1, code)
		}
	}
	c.StopEngine(0)
	c.StopEngine(0) // stopping a stopped engine does nothing
	if c.Engine(0) != nil {
		t.Fatal("a stopped engine is still returned")
	}
	testkit.Eventually(t, "replicas on the one engine left", c.Connected)
	if err := c.RestartEngine(1); err == nil {
		t.Fatal("a running engine restarted")
	}
	if err := c.RestartEngine(0); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "replicas back on both engines", func() bool {
		for i := range 2 {
			if c.Limiter(i).Health().EnginesConnected != 2 {
				return false
			}
		}
		return true
	})
	c.StopEngine(1)
	testkit.Eventually(t, "replicas on the restarted engine only", c.Connected)
	takeOver(t, c, "hour", "r", 5)
}

// A replica added later hears the decisions in force, even with no engine
// to report to; Redis going away and coming back does not stop it.
func TestAddReplicaAndRestartRedis(t *testing.T) {
	c := clustertest.Start(t, cluster.Options{Replicas: 2, Snapshot: snapshot(t)})
	takeOver(t, c, "hour", "late", 10)
	c.StopRedis()
	testkit.Eventually(t, "replicas off the bus", func() bool { return !c.Limiter(0).Health().BusConnected })
	c.StartRedis()
	i, err := c.AddReplica("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the new replica catches up", func() bool {
		return ask(t, c, i, "hour", "late") == rlsv3.RateLimitResponse_OVER_LIMIT
	})
	if c.Limiter(i).Health().EngineConnected {
		t.Fatal("the new replica reached an engine that does not exist")
	}
}

// A stopped replica answers no more while the others carry on, and its
// successor joins them.
func TestStopReplica(t *testing.T) {
	c := start(t, cluster.Options{Engines: 2, Replicas: 2})
	takeOver(t, c, "hour", "stop", 10)
	c.StopReplica(0)
	c.StopReplica(0) // stopping a stopped replica does nothing
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := c.Client(0).ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "test"}); err == nil {
		t.Fatal("a stopped replica answered")
	}
	if !c.Connected() {
		t.Fatal("the replica left is not connected")
	}
	if code := ask(t, c, 1, "hour", "stop"); code != rlsv3.RateLimitResponse_OVER_LIMIT {
		t.Fatalf("the replica left answers %v over the limit", code)
	}
	i, err := c.AddReplica()
	if err != nil {
		t.Fatal(err)
	}
	if i != 2 || c.Replicas() != 3 {
		t.Fatalf("successor at %d of %d replicas, want 2 of 3", i, c.Replicas())
	}
	testkit.Eventually(t, "the successor on both engines", func() bool { return c.Limiter(i).Health().EnginesConnected == 2 })
	if code := ask(t, c, i, "hour", "stop"); code != rlsv3.RateLimitResponse_OVER_LIMIT {
		t.Fatalf("the successor answers %v over the limit", code)
	}
}

func TestStartNeedsPolicies(t *testing.T) {
	if _, err := cluster.Start(t.Context(), cluster.Options{}); err == nil {
		t.Fatal("started with no policies")
	}
}

// Close stops every goroutine the cluster started.
func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	o := cluster.Options{Engines: 2, Replicas: 2, Snapshot: snapshot(t), Logger: testkit.Quiet}
	c, err := cluster.Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	takeOver(t, c, "hour", "close", 10)
	c.Close()
	c.Close() // a second Close does nothing
	testkit.Eventually(t, "goroutines back to where they were", func() bool {
		return runtime.NumGoroutine() <= before
	})
	if _, err := c.AddReplica(); err == nil {
		t.Fatal("a closed cluster added a replica")
	}
}
