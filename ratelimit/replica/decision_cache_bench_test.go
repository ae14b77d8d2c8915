package replica

import (
	"strconv"
	"testing"

	"github.com/floodgate/floodgate/decisions"
)

// BenchmarkDecisionCacheHit is the per-request lookup: all goroutines on a
// spread of 1024 live keys, a quarter of them throttled.
func BenchmarkDecisionCacheHit(b *testing.B) {
	c := NewDecisionCache(DecisionCacheOptions{})
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "api_user_" + strconv.Itoa(i) + "_1700000000"
		if i%4 == 0 {
			c.Apply(decisions.Decision{Key: keys[i], State: decisions.Throttled, WindowEnd: 200, Seq: 1}, 100)
		}
		c.Hit(keys[i], 200, 1, 100)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Hit(keys[i&1023], 200, 1, 100)
			i++
		}
	})
}

// BenchmarkDecisionCacheHitOneKey is the worst case: every request on one key.
func BenchmarkDecisionCacheHitOneKey(b *testing.B) {
	c := NewDecisionCache(DecisionCacheOptions{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Hit("api_user_hot_1700000000", 200, 1, 100)
		}
	})
}
