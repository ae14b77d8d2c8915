package ratelimit

import (
	"fmt"
	"testing"
	"unsafe"
)

// Counter keys are built in a buffer each request reuses: a store or cache
// that kept the buffer instead of a copy would see its keys change under
// it, and alternating keys would share or lose counts.
func TestAlternatingKeysKeepSeparateCounts(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	for round := 1; round <= 3; round++ {
		for _, addr := range []string{"10.9.0.1", "10.9.0.22", "10.9.0.333"} {
			resp := r.call(t, "api", desc("remote_address", addr))
			if got, want := resp.Statuses[0].LimitRemaining, uint32(3-round); got != want {
				t.Fatalf("round %d, %s: remaining %d, want %d", round, addr, got, want)
			}
		}
	}
}

func TestDecisionCacheKeepsItsOwnKeys(t *testing.T) {
	c := NewDecisionCache(DecisionCacheOptions{MaxEntries: 1024})
	buf := []byte("domain_k_v_0000")
	for i := range 10 {
		copy(buf[len(buf)-4:], fmt.Sprintf("%04d", i))
		// Both hits pass a view of the buffer, as the service does.
		c.Hit(unsafeView(buf), 2e9, 1, 1e9)
		c.Hit(unsafeView(buf), 2e9, 1, 1e9)
	}
	copy(buf, "XXXXXXXXXXXXXXX") // what reusing the buffer does to a kept view
	for i := range 10 {
		if r := c.Hit(fmt.Sprintf("domain_k_v_%04d", i), 2e9, 0, 1e9); r.Local != 2 {
			t.Fatalf("key %d: local count %d after the buffer changed, want 2", i, r.Local)
		}
	}
}

func unsafeView(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
