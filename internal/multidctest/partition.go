package multidctest

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
)

// Partition cuts dc2 off from the global tier mid-window: it keeps
// answering every call from what it holds, then from its share; the
// window's total stays within L + (L − granted at the cut)/datacenters
// (the README's bound, + 1% for the overdraft), and once the link heals
// the next window is back within [0.97, 1.01] × L.
func Partition(t *testing.T, h Deployment) {
	const limit, cut = globalLimit, 2
	value := uniqueValue(t)

	// Start 1s into a 10-second window, so that nothing lands in the next.
	start := time.Now().Truncate(10 * time.Second).Add(11 * time.Second)
	if time.Until(start) > 10*time.Second {
		start = start.Add(-10 * time.Second)
	}
	time.Sleep(time.Until(start))
	// A slow start that leaves most of the window: 100 requests a
	// datacenter, then dc2 is cut off.
	before := make([]int, Datacenters)
	var wg sync.WaitGroup
	for dc := range Datacenters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			before[dc] = slow(t, h, dc, "p", value, 100)
		}()
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // the holdings settle
	h.Cut(t, cut)
	healed := false
	heal := func() {
		if !healed {
			healed = true
			h.Heal(t, cut)
		}
	}
	t.Cleanup(heal)
	got := drive(t, h, all, "p", value, start.Add(7*time.Second))
	total := sum(before) + sum(got)

	// dc2's share, given once for the window by whichever of its engines
	// found the link cut: (L − the global count at its last contact) / 3.
	s := h.Global(t, cut, 0)
	lease, ok := leaseOf(s, value)
	if s.Up || !ok {
		t.Fatalf("dc2's engine while cut off: %+v", s)
	}
	holding := counter.HoldingKey(lease.Key)
	hash, err := h.Holding(t, cut, holding)
	if err != nil {
		t.Fatalf("dc2's holding %s: %v", holding, err)
	}
	extra, err := strconv.Atoi(hash["extra"])
	if err != nil {
		t.Fatalf("dc2's holding %s: extra: %v (%v)", holding, err, hash)
	}
	bound := limit + extra + limit/100
	t.Logf("window with dc2 cut off: before %v, after %v: %d (%.3f; bound %d = L + share %d + 1%%); dc2: %+v",
		before, got, total, float64(total)/limit, bound, extra, lease)
	if extra == 0 || extra > (limit+Datacenters-1)/Datacenters {
		t.Errorf("dc2's fallback share %d, want within (0, L/%d]", extra, Datacenters)
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
		hash, err := h.Holding(t, cut, holding)
		held, _ := strconv.Atoi(hash["held"])
		if err == nil && hash["fb"] == "" && hash["extra"] == "0" && uint64(held) >= lease.Used {
			t.Logf("dc2's holding after the heal: %v", hash)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dc2's holding 2s after the heal: %v (%v): its fallback is not settled", hash, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	next := start.Add(10 * time.Second)
	time.Sleep(time.Until(next))
	got = drive(t, h, all, "p", value, next.Add(6*time.Second))
	t.Logf("next window, healed: admitted %v = %d (%.3f)", got, sum(got), float64(sum(got))/limit)
	if n := sum(got); n < limit*97/100 || n > limit*101/100 {
		t.Errorf("the window after the heal admitted %d, want within [0.97, 1.01] × %d", n, limit)
	}
	fairShares(t, got, limit, "window after the heal")
	if s := h.Global(t, cut, 0); !s.Up {
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
