package cluster_test

import (
	"context"
	"strconv"
	"testing"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/internal/delayproxy"
	"github.com/floodgate/floodgate/internal/multidctest"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// A global key driven at full speed through every datacenter admits its
// limit once across all of them; a datacenter key admits its limit in each.
func TestMultiDatacenterLimits(t *testing.T) {
	multidctest.Limits(t, startMultiDC(t))
}

// A datacenter cut off from the global tier mid-window keeps answering
// within the fallback bound, and is back within the limit once healed.
func TestMultiDatacenterPartition(t *testing.T) {
	multidctest.Partition(t, startMultiDC(t))
}

// multiDC is three datacenters in this process, each linked to the global
// Redis through a delaying proxy: the multidctest.Deployment the
// scenarios drive.
type multiDC struct {
	dcs   []*clustertest.Cluster
	wans  []*delayproxy.Proxy
	redis []redis.UniversalClient
}

// startMultiDC runs three datacenters, each its own Redis, two engines and
// two replicas, under one global Redis reached through a WAN each, and
// waits until every engine counts every datacenter.
func startMultiDC(t *testing.T) *multiDC {
	t.Helper()
	if testing.Short() {
		t.Skip("three datacenters: not in -short")
	}
	// netem between network namespaces is integration/datacenters' part.
	t.Log("WAN latency by a delaying proxy between each datacenter and the global tier (no network namespaces or netem here)")
	global := testserver.Redis(t)
	snap := testkit.Compile(t, multidctest.Policy)
	m := &multiDC{}
	for i := range multidctest.Datacenters {
		w := clustertest.NewWAN(t, global.Addr, multidctest.WANDelays[i])
		dc := clustertest.Start(t, cluster.Options{Engines: multidctest.Engines, Replicas: multidctest.Replicas, Snapshot: snap,
			Datacenter: "dc" + strconv.Itoa(i), GlobalRedis: "redis://" + w.Addr + "/0?dial_timeout=200ms&read_timeout=500ms",
			// The overdraft is sized over the whole fleet, so that the
			// bound holds across datacenters.
			Leases: replica.LeaseOptions{MaxReplicas: multidctest.FleetReplicas}})
		m.wans = append(m.wans, w)
		m.dcs = append(m.dcs, dc)
		m.redis = append(m.redis, dc.RedisClient(t))
	}
	multidctest.AwaitLinked(t, m)
	return m
}

func (m *multiDC) Client(dc, r int) rlsv3.RateLimitServiceClient { return m.dcs[dc].Client(r) }

func (m *multiDC) Global(t testing.TB, dc, e int) decisions.GlobalStatus {
	t.Helper()
	s, ok := m.dcs[dc].Engine(e).Global()
	if !ok {
		t.Fatalf("dc%d engine %d has no global tier", dc, e)
	}
	return s
}

func (m *multiDC) Holding(t testing.TB, dc int, key string) (map[string]string, error) {
	return m.redis[dc].HGetAll(context.Background(), key).Result()
}

func (m *multiDC) Cut(t testing.TB, dc int)  { m.wans[dc].Cut() }
func (m *multiDC) Heal(t testing.TB, dc int) { m.wans[dc].Heal() }
