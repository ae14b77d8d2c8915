package metrics

import (
	"testing"

	gostats "github.com/lyft/gostats"
)

// The RLQS server's gostats names become floodgate_rlqs_* series.
func TestRLQSStatsBecomeRLQSSeries(t *testing.T) {
	p := NewPrometheus(BridgeOptions{})
	store := gostats.NewStore(p.Bridge, false)
	store.NewGauge("rlqs.streams").Set(3)
	store.NewGauge("rlqs.buckets").Set(7)
	store.NewCounter("rlqs.reports").Add(11)
	store.NewCounter("rlqs.usage.allowed").Add(90)
	store.NewCounter("rlqs.usage.denied").Add(10)
	store.NewCounter("rlqs.assignments.token_bucket").Add(4)
	store.NewCounter("rlqs.tokens.assigned").Add(120)
	store.NewCounter("rlqs.lease_unavailable").Inc()
	wantLines(t, scrape(t, p, store),
		`floodgate_rlqs_streams 3`,
		`floodgate_rlqs_buckets 7`,
		`floodgate_rlqs_reports_total 11`,
		`floodgate_rlqs_usage_requests_total{outcome="allowed"} 90`,
		`floodgate_rlqs_usage_requests_total{outcome="denied"} 10`,
		`floodgate_rlqs_assignments_total{action="token_bucket"} 4`,
		`floodgate_rlqs_tokens_total{event="assigned"} 120`,
		`floodgate_rlqs_events_total{event="lease_unavailable"} 1`,
	)
}
