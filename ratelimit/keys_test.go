package ratelimit

import (
	"testing"
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
