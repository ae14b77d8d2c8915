package rlqs_test

import (
	"context"
	"testing"
	"time"
)

// A rule with several limits (rate_limits) holds every one of them on RLQS:
// Envoy has one token bucket per bucket, so each token assigned is debited
// from every limit's lease, and the tightest one binds.
func TestBucketHoldsEveryLimitOfItsRule(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a bucket at full speed for 2.5 seconds")
	}
	c := startCluster(t, 1)
	_, conn := rlqsOn(t, c, 0, nil)
	cl := newEnvoyClient(t, conn, "edge", reportEvery)
	platinum := map[string]string{"tenant": "platinum", "name": "per-tenant"}
	ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
	defer cancel()
	admitted := 0
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for ctx.Err() == nil {
		<-tk.C
		for range 5 { // 5 000 requests a second: 5× the per-second limit
			if cl.request(platinum) {
				admitted++
			}
		}
	}
	// 1000 a second would admit over 2000 in 2.5 s; 300 an hour binds.
	t.Logf("admitted %d for 300 an hour and 1000 a second", admitted)
	if admitted > 303 {
		t.Fatalf("admitted %d: over 1.01 × the hourly 300, the second limit is not held", admitted)
	}
	if admitted < 150 {
		t.Fatalf("admitted %d of the hourly 300 in 2.5 s at 5× the per-second limit: the bucket is not being filled", admitted)
	}
}
