package datacenters

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions"
)

var all = []int{0, 1, 2}

// Three datacenters in namespaces of their own under one global tier: a
// global key admits its limit once across all of them, a datacenter key
// its limit in each, and a datacenter cut off mid-window keeps answering
// within the fallback bound, then is back within the limit once healed.
func TestDatacenters(t *testing.T) {
	d := startDeployment(t)
	t.Run("global-key", d.globalKey)
	t.Run("datacenter-key", d.datacenterKey)
	t.Run("partition", d.partition)
}

// A global key driven at full speed through all six replicas.
func (d *deployment) globalKey(t *testing.T) {
	const limit = 3000
	got := d.drive(t, all, "g", uniqueValue(t), time.Now().Add(3*time.Second))
	t.Logf("global key: admitted %v = %d of %d (%.3f)", got, sum(got), limit, float64(sum(got))/limit)
	if n := sum(got); n < limit*97/100 || n > limit*101/100 {
		t.Errorf("global key admitted %d across datacenters, want within [0.97, 1.01] × %d", n, limit)
	}
	if s := d.dcs[0].global(t, 0); !s.Up || s.Datacenters != datacenters {
		t.Errorf("dc0's link to the global tier: %+v", s)
	}
}

// A datacenter key admits its limit in each datacenter.
func (d *deployment) datacenterKey(t *testing.T) {
	const limit = 600
	got := d.drive(t, all, "d", uniqueValue(t), time.Now().Add(3*time.Second))
	t.Logf("datacenter key: admitted %v of %d each (%.3f, %.3f, %.3f)", got, limit,
		float64(got[0])/limit, float64(got[1])/limit, float64(got[2])/limit)
	for i, n := range got {
		if n < limit*97/100 || n > limit*101/100 {
			t.Errorf("dc%d admitted %d of a datacenter key, want within [0.97, 1.01] × %d", i, n, limit)
		}
	}
}

// A datacenter whose link to the hub goes down mid-window keeps answering
// every call from what it holds, then from its share; the window's total
// stays within L + (L − granted at the cut)/datacenters (the README's
// bound, + 1% for the overdraft), and once the link is back up the next
// window is within [0.97, 1.01] × L.
func (d *deployment) partition(t *testing.T) {
	const limit, cut = 3000, 2
	value := uniqueValue(t)

	// Start 1s into a 10-second window, so that nothing lands in the next.
	start := time.Now().Truncate(10 * time.Second).Add(11 * time.Second)
	if time.Until(start) > 10*time.Second {
		start = start.Add(-10 * time.Second)
	}
	time.Sleep(time.Until(start))
	// A slow start that leaves most of the window: 100 requests a
	// datacenter, then dc2's link goes down.
	before := make([]int, datacenters)
	var wg sync.WaitGroup
	for i := range datacenters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			before[i] = d.slow(t, i, "p", value, 100)
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // the holdings settle
	d.lab.Cut(t, cut)
	healed := false
	heal := func() {
		if !healed {
			healed = true
			d.lab.Heal(t, cut)
		}
	}
	t.Cleanup(heal)
	got := d.drive(t, all, "p", value, start.Add(7*time.Second))
	total := sum(before) + sum(got)

	// dc2's share, given once for the window by whichever of its engines
	// found the link down: (L − the global count at its last contact) / 3.
	dc := d.dcs[cut]
	s := dc.global(t, 0)
	lease, ok := leaseOf(s, value)
	if s.Up || !ok {
		t.Fatalf("dc2's engine while cut off: %+v", s)
	}
	holding := lease.Key + "|dc"
	extra, err := dc.redis.HGet(context.Background(), holding, "extra").Int()
	if err != nil {
		t.Fatalf("dc2's holding %s: %v", holding, err)
	}
	bound := limit + extra + limit/100
	t.Logf("window with dc2 cut off: before %v, after %v: %d (%.3f; bound %d = L + share %d + 1%%); dc2: %+v",
		before, got, total, float64(total)/limit, bound, extra, lease)
	if extra == 0 || extra > (limit+datacenters-1)/datacenters {
		t.Errorf("dc2's fallback share %d, want within (0, L/%d]", extra, datacenters)
	}
	if total > bound {
		t.Errorf("the cut-off window admitted %d, over the fallback bound %d", total, bound)
	}
	if got[cut] == 0 {
		t.Errorf("dc2 admitted nothing while cut off")
	}
	if total < limit*97/100 {
		t.Errorf("the cut-off window admitted %d, under 0.97 × %d: the connected datacenters lost tokens", total, limit)
	}

	heal()
	// Back in contact, dc2 charges what it spent beyond its holding and
	// ends its fallback for the window.
	deadline := time.Now().Add(2 * time.Second)
	for {
		h, err := dc.redis.HGetAll(context.Background(), holding).Result()
		held, _ := strconv.Atoi(h["held"])
		if err == nil && h["fb"] == "" && h["extra"] == "0" && uint64(held) >= lease.Used {
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
	got = d.drive(t, all, "p", value, next.Add(6*time.Second))
	t.Logf("next window, healed: admitted %v = %d (%.3f)", got, sum(got), float64(sum(got))/limit)
	if n := sum(got); n < limit*97/100 || n > limit*101/100 {
		t.Errorf("the window after the heal admitted %d, want within [0.97, 1.01] × %d", n, limit)
	}
	if s := dc.global(t, 0); !s.Up {
		t.Errorf("dc2's engine reports its link down after the heal: %+v", s)
	}
}

// leaseOf finds the lease of the key whose value is value.
func leaseOf(s decisions.GlobalStatus, value string) (decisions.GlobalLease, bool) {
	for _, l := range s.Leases {
		if strings.Contains(l.Key, value) {
			return l, true
		}
	}
	return decisions.GlobalLease{}, false
}
