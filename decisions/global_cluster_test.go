package decisions

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// A datacenter whose counters are in a Redis Cluster, under a prefix,
// leases global keys as one on a single Redis does: a key's holding sits in
// its count's slot.
func TestGlobalTierOverADatacenterCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node Redis Cluster")
	}
	nodes := testserver.RedisCluster(t, 3)
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.Addr
	}
	local := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	global := testserver.Redis(t)
	gc := redis.NewClient(&redis.Options{Addr: global.Addr})
	t.Cleanup(func() { _ = local.Close(); _ = gc.Close() })
	e, err := NewEngine(EngineOptions{Counter: counter.NewRedis(local, "fg:"), Publisher: &MemoryBus{}, Logger: testkit.Quiet,
		Global: &GlobalOptions{Datacenter: "a", Store: counter.NewRedis(gc, ""), Name: "global", Interval: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testkit.Compile(t, globalPolicy+"  - key: s\n    rate_limit: {unit: hour, requests_per_unit: 1000, algorithm: sliding_window, scope: global}\n"))

	// Several values, so that their keys fall in different slots.
	var granted uint64
	for _, v := range []string{"a", "b", "c", "d", "e"} {
		g := grantUntil(t, e, v, 100)
		if g.GetTokens() == 0 {
			t.Fatalf("g=%s: nothing granted over a datacenter cluster: %v", v, g)
		}
		granted += g.GetTokens()
	}
	// A sliding window's previous count is in another slot: read first.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r",
			Asks: []*enginepb.LeaseAsk{askFor(time.Now().Unix(), 100, "s", "a")}})
		if g := r.GetGrants()[0]; g.GetTokens() > 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("s=a: nothing granted over a datacenter cluster: %v", g)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "every key's holding in the cluster", func() bool {
		s, _ := e.Global()
		if len(s.Leases) != 6 {
			return false
		}
		for _, l := range s.Leases {
			held, err := local.HGet(context.Background(), counter.HoldingKey("fg:"+l.Key), "held").Uint64()
			if err != nil || held == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("granted %d over 5 fixed windows, and a sliding window's", granted)
}
