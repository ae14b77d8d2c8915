package metrics

import (
	"testing"

	gostats "github.com/lyft/gostats"
)

// An engine's global-tier stats become floodgate_global_* series.
func TestBridgeNamesGlobalTierSeries(t *testing.T) {
	p := NewPrometheus(BridgeOptions{})
	store := gostats.NewStore(p.Bridge, false)
	store.NewCounter("global.tokens_granted").Add(7)
	store.NewCounter("global.tokens_charged").Add(2)
	store.NewCounter("global.fallbacks").Inc()
	store.NewGauge("global.link_up").Set(1)
	store.NewGauge("global.datacenters").Set(3)
	store.NewGauge("global.keys").Set(4)
	page := scrape(t, p, store)
	wantLines(t, page,
		`floodgate_global_tokens_total{event="granted"} 7`,
		`floodgate_global_tokens_total{event="charged"} 2`,
		`floodgate_global_events_total{event="fallbacks"} 1`,
		`floodgate_global_link_up 1`,
		`floodgate_global_datacenters 3`,
		`floodgate_global_keys 4`,
	)
}
