package decisions

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/delayproxy"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

const fairPolicy = `domain: api
descriptors:
  - key: g
    rate_limit: {unit: hour, requests_per_unit: 3000, scope: global}
  - key: s
    rate_limit: {unit: hour, requests_per_unit: 3000, algorithm: sliding_window, scope: global}
`

// wanEngine is an engine of datacenter dc over its own Redis, leasing from
// the global Redis through a WAN link of delay each way, with the default
// round interval.
func wanEngine(t *testing.T, dc, globalAddr string, delay time.Duration) *Engine {
	t.Helper()
	wan, err := delayproxy.New(globalAddr, delay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wan.Close)
	local := testserver.Redis(t)
	lc := redis.NewClient(&redis.Options{Addr: local.Addr})
	gc := redis.NewClient(&redis.Options{Addr: wan.Addr})
	t.Cleanup(func() { _ = lc.Close(); _ = gc.Close() })
	e, err := NewEngine(EngineOptions{ID: dc + "-engine", Counter: counter.NewRedis(lc, ""), Publisher: &MemoryBus{}, Logger: testkit.Quiet,
		Global: &GlobalOptions{Datacenter: dc, Store: counter.NewRedis(gc, ""), Name: "global"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testkit.Compile(t, fairPolicy))
	return e
}

// replicaDemand stands in for a datacenter's replicas: every 5ms it is
// offered 10 hits of key=value, admits what it holds, and asks its
// engine for more, reporting what it spent and denied. It returns what it
// admitted by until.
func replicaDemand(e *Engine, key, value string, until time.Time) uint64 {
	var held, admitted, spent, denied uint64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(until) {
		<-tick.C
		s := min(held, 10)
		held, admitted, spent, denied = held-s, admitted+s, spent+s, denied+10-s
		a := askFor(time.Now().Unix(), 50-min(held, 50), key, value)
		a.Used, a.Denied = spent, denied
		r := e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r-" + e.o.ID, Asks: []*enginepb.LeaseAsk{a}})
		spent, denied = 0, 0
		if g := r.GetGrants()[0]; g.GetStatus() == enginepb.Grant_OK {
			held += g.GetTokens()
		}
	}
	return admitted
}

// Three datacenters 0, 40 and 80 ms (round trip) from the global tier,
// offered the same load of one global key, far beyond its limit, each
// admit about a third of it, and together no more than the limit.
func TestGlobalTierSharesByDemand(t *testing.T) {
	if testing.Short() {
		t.Skip("three datacenters over WAN links: not in -short")
	}
	global := testserver.Redis(t)
	delays := []time.Duration{0, 20 * time.Millisecond, 40 * time.Millisecond}
	var es []*Engine
	for i, d := range delays {
		es = append(es, wanEngine(t, fmt.Sprintf("dc%d", i), global.Addr, d))
	}
	// Each engine counts the datacenters once a second.
	waitFor(t, "every engine to count three datacenters", func() bool {
		for _, e := range es {
			e.global.round(context.Background())
			if e.global.datacenters() != len(es) {
				return false
			}
		}
		return true
	})
	for _, key := range []string{"g", "s"} {
		t.Run(key, func(t *testing.T) {
			const limit = 3000
			got := make([]uint64, len(es))
			until := time.Now().Add(3 * time.Second)
			var wg sync.WaitGroup
			for i, e := range es {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i] = replicaDemand(e, key, t.Name(), until)
				}()
			}
			wg.Wait()
			var total uint64
			for _, n := range got {
				total += n
			}
			t.Logf("admitted %v = %d of %d", got, total, limit)
			if total > limit*101/100 {
				t.Errorf("admitted %d across datacenters, over 1.01 × %d", total, limit)
			}
			for i, n := range got {
				if share := float64(n) / (limit / float64(len(es))); share < 0.6 || share > 1.4 {
					t.Errorf("dc%d (%v each way) admitted %d: %.2f of an equal share, want within [0.6, 1.4]", i, delays[i], n, share)
				}
			}
		})
	}
}
