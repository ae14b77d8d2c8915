package cluster_test

import (
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// Hour windows: a test's few seconds stay inside one of them by the
// counter store's clock too.
const matchPolicy = `
domain: test
descriptors:
  - key: remote_address
    value: 10.0.0.0/8
    match: cidr
    rate_limit: {unit: hour, requests_per_unit: 300}
  - key: remote_address
    value: 10.9.0.0/16
    match: cidr
    rate_limit: {unit: hour, requests_per_unit: 30}
  - key: remote_address
    value: 203.0.113.0/24
    match: cidr
    rate_limit: {unit: hour, requests_per_unit: 0, name: blocked}
  - key: remote_address
    value: 2001:db8::/32
    match: cidr
    rate_limit: {unit: hour, requests_per_unit: 60}
  - key: path
    value: '^/v1/users/[0-9]+$'
    match: regex
    share_threshold: true
    rate_limit: {unit: hour, requests_per_unit: 90}
`

// CIDR and regex rules in lease mode with 3 replicas: each address is held
// to its most specific prefix's limit, the deny list admits nothing, and
// the values one shared regex matches share one limit.
func TestLeaseModeMatchesCIDRAndRegex(t *testing.T) {
	clock := cluster.NewClock(time.Now())
	c := clustertest.Start(t, cluster.Options{Engines: 2, Replicas: algoReplicas,
		Snapshot: testkit.Compile(t, matchPolicy), Now: clock.Now,
		Leases: replica.LeaseOptions{MaxReplicas: algoReplicas}})
	// A limit L admits at most L plus the replicas' overdraft (ε = 0.005).
	within := func(what string, got, limit int) {
		t.Helper()
		if got < limit || got > limit+limit/100+1 {
			t.Errorf("%s: %d admitted, want %d (to 1%% over)", what, got, limit)
		}
	}
	within("10.9.1.2 under 10.9.0.0/16", flood(t, c, "remote_address", "10.9.1.2", 100), 30)
	within("10.1.2.3 under 10.0.0.0/8", flood(t, c, "remote_address", "10.1.2.3", 400), 300)
	within("IPv6 2001:db8::1 under 2001:db8::/32", flood(t, c, "remote_address", "2001:db8::1", 100), 60)
	if got := flood(t, c, "remote_address", "203.0.113.7", 50); got != 0 {
		t.Errorf("deny list: %d admitted, want none", got)
	}
	first := flood(t, c, "path", "/v1/users/1", 60)
	second := flood(t, c, "path", "/v1/users/2", 60)
	within("two users under one shared regex", first+second, 90)
}
