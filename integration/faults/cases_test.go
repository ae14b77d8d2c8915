package faults

import (
	"strings"
	"testing"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testkit"
)

// Each process of the default deployment crashes (SIGKILL) under load and
// comes back; the counters' Redis fails over to its standby.
func TestProcessFaults(t *testing.T) {
	for _, c := range []asyncCase{{
		name:       "redis-kill",
		fault:      func(t *testing.T, d *deployment) { d.redis.Stop() },
		heal:       func(t *testing.T, d *deployment) { d.redis.Start() },
		bound:      restartBound,
		countsLost: true,
	}, {
		name:  "engine-kill",
		fault: func(t *testing.T, d *deployment) { d.engines[0].kill() },
		heal:  func(t *testing.T, d *deployment) { d.engines[0].start(t) },
	}, {
		// No engine answers: each replica spends what it holds, then its
		// share of what remained at its last grant (--on-engine-down share),
		// reports itself unhealthy, and has that charged once an engine is
		// back. The shares were computed over counts that trail by the
		// grants made since, as across a restart: the same bound.
		name: "engines-kill-all",
		fault: func(t *testing.T, d *deployment) {
			for _, e := range d.engines {
				e.kill()
			}
			testkit.Eventually(t, "the replicas unhealthy with no engine", func() bool {
				for _, r := range d.replicas {
					if r.healthy() {
						return false
					}
				}
				return true
			})
		},
		heal: func(t *testing.T, d *deployment) {
			for _, e := range d.engines {
				e.start(t)
			}
		},
		bound: restartBound,
	}, {
		// The replicas and engines keep the last policy while no control
		// plane answers, and take the one written meanwhile once it is back.
		name: "control-plane-kill",
		opts: options{xds: true},
		fault: func(t *testing.T, d *deployment) {
			d.cp.kill()
			d.writePolicy(policyYAML + lateRule)
		},
		heal:      func(t *testing.T, d *deployment) { d.cp.start(t) },
		recovered: lateRuleEnforced,
	}, {
		// Replica 0 dies; the load is on replica 1, which keeps answering,
		// and replica 0 serves again once restarted.
		name:  "replica-kill",
		load:  []int{1},
		fault: func(t *testing.T, d *deployment) { d.replicas[0].kill() },
		heal:  func(t *testing.T, d *deployment) { d.replicas[0].start(t) },
	}, {
		// The counters' master dies for good: Sentinel promotes the standby
		// and the engines follow it.
		name:       "sentinel-failover",
		opts:       options{sentinel: true},
		fault:      func(t *testing.T, d *deployment) { d.counter.Stop() },
		bound:      restartBound,
		countsLost: true,
		recovered:  standbyPromoted,
	}} {
		t.Run(c.name, c.run)
	}
}

// lateRuleEnforced reports whether every replica limits the rule added
// while the control plane was down: its fourth request is over.
func lateRuleEnforced(t *testing.T, d *deployment, value string) bool {
	for i, r := range d.replicas {
		v := unique(value + "-late-" + strings.Repeat("r", i+1))
		for range 3 {
			if _, err := askOnce(r.grpc, "late", v); err != nil {
				return false
			}
		}
		if code, err := askOnce(r.grpc, "late", v); err != nil || code != rlsv3.RateLimitResponse_OVER_LIMIT {
			return false
		}
	}
	return true
}

// standbyPromoted reports whether Sentinel has made the standby Redis the
// counters' master.
func standbyPromoted(t *testing.T, d *deployment, _ string) bool {
	c := redis.NewClient(&redis.Options{Addr: d.standby.Addr})
	defer c.Close()
	info, err := c.Info(t.Context(), "replication").Result()
	return err == nil && strings.Contains(info, "role:master")
}
