// Package clustertest starts a cluster for a test over a Redis of the
// test's own, which the test may stop and start, and ends both when the
// test ends.
package clustertest

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// Cluster is a cluster.Cluster over the test's Redis.
type Cluster struct {
	*cluster.Cluster
	Redis *testserver.Server
}

// Start runs a cluster with o over a new Redis server, which it names in
// o.Redis, and closes both when t ends; it fails t if the cluster does not
// come up. A nil o.Logger is testkit.Quiet. Zero Backoff, BusPingInterval
// and BusRefreshInterval get test values under which a lost or restarted
// Redis or engine is noticed in a fraction of a second rather than seconds.
func Start(t testing.TB, o cluster.Options) *Cluster {
	t.Helper()
	rds := testserver.Redis(t)
	// Short timeouts, so that requests to a stopped Redis fail fast.
	o.Redis = []string{"redis://" + rds.Addr + "/0?dial_timeout=200ms&read_timeout=1s"}
	if o.Logger == nil {
		o.Logger = testkit.Quiet
	}
	if o.Backoff == (backoff.Backoff{}) {
		o.Backoff = backoff.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	}
	if o.BusPingInterval == 0 {
		o.BusPingInterval = 200 * time.Millisecond
	}
	if o.BusRefreshInterval == 0 {
		o.BusRefreshInterval = 100 * time.Millisecond
	}
	c, err := cluster.Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &Cluster{Cluster: c, Redis: rds}
}

// StopRedis kills the Redis server: every engine and replica loses it at
// once, and every key it held is gone.
func (c *Cluster) StopRedis() { c.Redis.Stop() }

// StartRedis brings Redis back, empty, on the same port.
func (c *Cluster) StartRedis() { c.Redis.Start() }

// RedisClient is a client of the test's Redis, for reading what the engines
// counted; it is closed when t ends.
func (c *Cluster) RedisClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: c.Redis.Addr})
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}
