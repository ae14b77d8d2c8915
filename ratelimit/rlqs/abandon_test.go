package rlqs_test

import (
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// A deleted rule's buckets are abandoned when the policies change, not at
// the client's next report.
func TestDeletedRuleAbandonsWithoutAReport(t *testing.T) {
	c := startCluster(t, 1)
	_, conn := rlqsOn(t, c, 0, nil)
	// Reports every 30s: none comes after the first within the test.
	cl := newEnvoyClient(t, conn, "edge", 30*time.Second)
	silver := map[string]string{"tenant": "silver"}
	cl.request(silver)
	waitFor(t, "a token bucket", func() bool { b := cl.bucket(silver); return b != nil && b.tb != nil })

	c.SetSnapshot(testkit.Compile(t, `
domain: edge
descriptors:
  - key: tenant
    value: gold
    rate_limit: {unit: second, requests_per_unit: 2000}
`))
	waitFor(t, "the bucket abandoned", func() bool { return cl.bucket(silver) == nil })
	cl.mu.Lock()
	abandoned := cl.abandoned
	cl.mu.Unlock()
	if abandoned != 1 {
		t.Fatalf("abandoned %d buckets, want 1", abandoned)
	}
}
