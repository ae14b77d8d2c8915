package cluster_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/delayproxy"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// A global limit of 3000 an hour (a fixed and a sliding window), a
// datacenter limit of 600 an hour, and a global limit of 3000 per 10-second
// window for the partition.
const multiDCPolicy = `
domain: test
descriptors:
  - key: g
    rate_limit: {unit: hour, requests_per_unit: 3000, scope: global}
  - key: s
    rate_limit: {unit: hour, requests_per_unit: 3000, algorithm: sliding_window, scope: global}
  - key: d
    rate_limit: {unit: hour, requests_per_unit: 600}
  - key: p
    rate_limit: {unit: second, unit_multiplier: 10, requests_per_unit: 3000, scope: global}
`

const (
	datacenters  = 3
	dcReplicas   = 2
	fleetReplias = datacenters * dcReplicas
)

// wanDelays are each datacenter's one-way delay to the global tier: round
// trips of 40, 60 and 80 ms. netem between network namespaces would be the
// real thing; this kernel has no sch_netem, so a delaying proxy stands in.
var wanDelays = [datacenters]time.Duration{20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond}

type multiDC struct {
	dcs  []*clustertest.Cluster
	wans []*delayproxy.Proxy
}

// startMultiDC runs three datacenters, each its own Redis, two engines and
// two replicas, under one global Redis reached through a WAN each.
func startMultiDC(t *testing.T) *multiDC {
	t.Helper()
	if testing.Short() {
		t.Skip("three datacenters: not in -short")
	}
	t.Log("WAN latency by a delaying proxy between each datacenter and the global tier (no network namespaces or netem here)")
	global := testserver.Redis(t)
	snap := testkit.Compile(t, multiDCPolicy)
	m := &multiDC{}
	for i := range datacenters {
		w := clustertest.NewWAN(t, global.Addr, wanDelays[i])
		m.wans = append(m.wans, w)
		m.dcs = append(m.dcs, clustertest.Start(t, cluster.Options{Engines: 2, Replicas: dcReplicas, Snapshot: snap,
			Datacenter: "dc" + strconv.Itoa(i), GlobalRedis: "redis://" + w.Addr + "/0?dial_timeout=200ms&read_timeout=500ms",
			// The overdraft is sized over the whole fleet, so that the
			// bound holds across datacenters.
			Leases: replica.LeaseOptions{MaxReplicas: fleetReplias}}))
	}
	// Every engine counts the datacenters once a second: let the first
	// ones started count the last, as a deployment does within a second
	// of a datacenter joining.
	time.Sleep(1100 * time.Millisecond)
	return m
}

// drive sends requests for key=value at full speed through every replica of
// the datacenters in dcs (3 callers a replica) until until, and returns what
// each datacenter admitted. Every call must be answered.
func (m *multiDC) drive(t *testing.T, dcs []int, key, value string, until time.Time) []int {
	t.Helper()
	admitted := make([]atomic.Int64, datacenters)
	var wg sync.WaitGroup
	for _, d := range dcs {
		c := m.dcs[d]
		for w := range 3 * c.Replicas() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := c.Client(w % c.Replicas())
				for time.Now().Before(until) {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					resp, err := cl.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "test",
						Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}}}})
					cancel()
					if err != nil {
						t.Errorf("dc%d replica %d: ShouldRateLimit: %v", d, w%c.Replicas(), err)
						return
					}
					if resp.GetOverallCode() == rlsv3.RateLimitResponse_OK {
						admitted[d].Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	out := make([]int, datacenters)
	for i := range out {
		out[i] = int(admitted[i].Load())
	}
	return out
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func uniqueValue(t *testing.T) string {
	return fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
}

// A global key driven at full speed through every datacenter admits its
// limit once across all of them; a datacenter key admits its limit in each.
func TestMultiDatacenterLimits(t *testing.T) {
	m := startMultiDC(t)
	all := []int{0, 1, 2}

	got := m.drive(t, all, "g", uniqueValue(t), time.Now().Add(3*time.Second))
	t.Logf("global key: admitted %v = %d of 3000 (%.3f)", got, sum(got), float64(sum(got))/3000)
	if n := sum(got); n < 2910 || n > 3030 {
		t.Errorf("global key admitted %d across datacenters, want within [0.97, 1.01] × 3000", n)
	}
	s, ok := m.dcs[0].Engine(0).Global()
	t.Logf("dc0 engine 0: %+v", s)
	if !ok || !s.Up || s.Datacenters != datacenters {
		t.Errorf("dc0's link to the global tier: %+v", s)
	}

	got = m.drive(t, all, "s", uniqueValue(t), time.Now().Add(3*time.Second))
	t.Logf("global sliding window: admitted %v = %d of 3000 (%.3f)", got, sum(got), float64(sum(got))/3000)
	if n := sum(got); n < 2910 || n > 3030 {
		t.Errorf("global sliding window admitted %d across datacenters, want within [0.97, 1.01] × 3000", n)
	}

	got = m.drive(t, all, "d", uniqueValue(t), time.Now().Add(3*time.Second))
	t.Logf("datacenter key: admitted %v of 600 each", got)
	for d, n := range got {
		if n < 582 || n > 606 {
			t.Errorf("dc%d admitted %d of a datacenter key, want within [0.97, 1.01] × 600", d, n)
		}
	}
}

// windowOf10 is the start of the 10-second window holding at.
func windowOf10(at time.Time) time.Time { return at.Truncate(10 * time.Second) }

// A datacenter cut off from the global tier mid-window keeps answering
// every call from what it holds, then from its share; the window's total
// stays within L + (L − granted at the cut)/datacenters, and once the link
// heals the next window is back within [0.97, 1.01] × L.
func TestMultiDatacenterPartition(t *testing.T) {
	m := startMultiDC(t)
	const limit = 3000
	value := uniqueValue(t)
	all := []int{0, 1, 2}

	// Start 1s into a window, so that nothing lands in the next one.
	start := windowOf10(time.Now()).Add(11 * time.Second)
	if time.Until(start) > 10*time.Second {
		start = start.Add(-10 * time.Second)
	}
	time.Sleep(time.Until(start))
	// A slow start that leaves most of the window: 100 requests a
	// datacenter, then dc2 is cut off.
	before := make([]int, datacenters)
	var wg sync.WaitGroup
	for d := range datacenters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			before[d] = m.slow(t, d, "p", value, 100)
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // the holdings settle
	m.wans[2].Cut()
	got := m.drive(t, all, "p", value, start.Add(7*time.Second))
	total := sum(before) + sum(got)
	// dc2's share, given once for the window by whichever of its engines
	// found the link cut: (L − the global count at its last contact) / 3.
	s2, _ := m.dcs[2].Engine(0).Global()
	if s2.Up || len(s2.Leases) != 1 {
		t.Fatalf("dc2's engine while cut off: %+v", s2)
	}
	extra, err := m.dcs[2].RedisClient(t).HGet(context.Background(), s2.Leases[0].Key+"|dc", "extra").Int()
	if err != nil {
		t.Fatal(err)
	}
	bound := limit + extra + limit/100
	t.Logf("window with dc2 cut off: before %v, after %v: %d (bound %d = L + share %d + 1%%); dc2: %+v", before, got, total, bound, extra, s2.Leases[0])
	if extra == 0 || extra > (limit+datacenters-1)/datacenters {
		t.Errorf("dc2's fallback share %d, want within (0, L/%d]", extra, datacenters)
	}
	if total > bound {
		t.Errorf("the cut-off window admitted %d, over the fallback bound %d", total, bound)
	}
	if got[2] == 0 {
		t.Errorf("dc2 admitted nothing while cut off")
	}
	if total < limit*97/100 {
		t.Errorf("the cut-off window admitted %d, under 0.97 × %d: the connected datacenters lost tokens", total, limit)
	}

	m.wans[2].Heal()
	// Back in contact, dc2 charges what it spent beyond its holding and
	// ends its fallback for the window.
	holding := s2.Leases[0].Key + "|dc"
	deadline := time.Now().Add(2 * time.Second)
	for {
		h, err := m.dcs[2].RedisClient(t).HGetAll(context.Background(), holding).Result()
		held, _ := strconv.Atoi(h["held"])
		if err == nil && h["fb"] == "" && h["extra"] == "0" && uint64(held) >= s2.Leases[0].Used {
			t.Logf("dc2's holding after the heal: %v", h)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dc2's holding 2s after the heal: %v (%v): its fallback is not settled", h, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	next := start.Add(10 * time.Second)
	time.Sleep(time.Until(next))
	got = m.drive(t, all, "p", value, next.Add(6*time.Second))
	t.Logf("next window, healed: admitted %v = %d (%.3f)", got, sum(got), float64(sum(got))/limit)
	if n := sum(got); n < limit*97/100 || n > limit*101/100 {
		t.Errorf("the window after the heal admitted %d, want within [0.97, 1.01] × %d", n, limit)
	}
	if s, _ := m.dcs[2].Engine(0).Global(); !s.Up {
		t.Errorf("dc2's engine reports its link down after the heal: %+v", s)
	}
}

// slow sends n requests, one at a time, through datacenter d's first
// replica and returns how many were admitted.
func (m *multiDC) slow(t *testing.T, d int, key, value string, n int) int {
	t.Helper()
	ok := 0
	cl := m.dcs[d].Client(0)
	for range n {
		time.Sleep(10 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := cl.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "test",
			Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}}}})
		cancel()
		if err != nil {
			t.Errorf("dc%d: ShouldRateLimit: %v", d, err)
			return ok
		}
		if resp.GetOverallCode() == rlsv3.RateLimitResponse_OK {
			ok++
		}
	}
	return ok
}
