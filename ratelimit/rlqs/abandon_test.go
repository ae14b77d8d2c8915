package rlqs_test

import (
	"testing"
	"time"
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

	deleteAllButGold(t, c)
	waitAbandoned(t, cl, silver)
}
