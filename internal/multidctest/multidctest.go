// Package multidctest holds the multi-datacenter scenarios, their policy
// and their bounds, once, for the two harnesses that run them: three
// datacenters in one process with the WAN by a delaying proxy
// (internal/cluster), and three datacenters of real processes in network
// namespaces with the WAN by netem and a partition by a link taken down
// (integration/datacenters). A harness starts the deployment its own way
// and implements Deployment; the scenarios drive it and assert.
package multidctest

import (
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/decisions"
)

// Policy is a global limit of 3000 an hour (a fixed and a sliding window),
// a datacenter limit of 600 an hour, and a global limit of 3000 per
// 10-second window for the partition.
const Policy = `
domain: test
descriptors:
  - key: g
    rate_limit: {unit: hour, requests_per_unit: 3000, scope: global}
  - key: s
    rate_limit: {unit: hour, requests_per_unit: 3000, algorithm: sliding_window, scope: global}
  - key: d
    rate_limit: {unit: hour, requests_per_unit: 600}
  - key: p
    rate_limit: {unit: second, unit_multiplier: 10, requests_per_unit: 3000, scope: global}
`

// The limits of Policy's keys, as the scenarios assert them.
const (
	globalLimit     = 3000 // g, s and p, across every datacenter
	datacenterLimit = 600  // d, in each datacenter
)

const (
	Datacenters = 3
	Engines     = 2 // a datacenter's
	Replicas    = 2 // a datacenter's
	// FleetReplicas is every datacenter's replicas: the overdraft is
	// sized over all of them (--max-replicas), so that the bound holds
	// across datacenters.
	FleetReplicas = Datacenters * Replicas
)

// WANDelays are each datacenter's one-way delay to the global tier: round
// trips of 40, 60 and 80 ms.
var WANDelays = [Datacenters]time.Duration{20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond}

// Deployment is Datacenters datacenters running under one
// global tier, each with Engines engines and Replicas replicas: what a
// scenario needs of it. Methods that cannot answer fail t.
type Deployment interface {
	// Client calls replica r of datacenter dc.
	Client(dc, r int) rlsv3.RateLimitServiceClient
	// Global is engine e of datacenter dc's view of the global tier.
	Global(t testing.TB, dc, e int) decisions.GlobalStatus
	// Holding is the hash at key in datacenter dc's Redis: a global
	// lease's holding is at counter.HoldingKey(its key).
	Holding(t testing.TB, dc int, key string) (map[string]string, error)
	// Cut takes datacenter dc's link to the global tier down; Heal
	// brings it back.
	Cut(t testing.TB, dc int)
	Heal(t testing.TB, dc int)
}
