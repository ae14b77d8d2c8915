package replica

import (
	"fmt"
	"testing"
	"unsafe"
)

// Counter keys are views of a buffer each request reuses: the cache must
// keep copies, or reusing the buffer would change its keys.
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
