package integration

import (
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// A descriptor value that is not UTF-8 is limited by its bytes on the async
// path too: its hits and lease asks reach the engines, and its throttle
// reaches every replica over Redis. Before, the replica could not encode
// them, and such a key was never limited.
func TestAsyncLimitsAnyBytes(t *testing.T) {
	const value, other = "\xff\xfe\x00", "\xfe\xff\x00"
	for _, mode := range []replica.Mode{replica.ModeLease, replica.ModeReport} {
		t.Run(map[replica.Mode]string{replica.ModeLease: "lease", replica.ModeReport: "report"}[mode], func(t *testing.T) {
			c := startAsync(t, cluster.Options{Engines: 1, Replicas: 2, Mode: mode})
			for i := range 31 { // min: 30 per minute
				got := ask(t, c, i%2, "min", value)
				if want := map[bool]rlsv3.RateLimitResponse_Code{true: ok, false: over}[i < 30]; mode == replica.ModeLease && got != want {
					t.Fatalf("hit %d: %v, want %v", i+1, got, want)
				}
			}
			key := asyncCacheKey("min", value, policy.Minute, time.Now())
			testkit.Eventually(t, "every replica to hold the engine's throttle of the binary key", func() bool {
				return throttledIn(c.Limiter(0), key, 30) || mode == replica.ModeLease && everyReplicaAnswers(t, c, "min", value, over)
			})
			if !everyReplicaAnswers(t, c, "min", value, over) {
				t.Fatal("a replica admits the binary key past its limit")
			}
			if got := ask(t, c, 1, "min", other); got != ok {
				t.Fatalf("other bytes: %v, want OK: they share a counter with %q", got, value)
			}
		})
	}
}
