package replica

import "github.com/floodgate/floodgate/ratelimit"

// HealthCheck is what the RLS reports at /healthcheck for this limiter:
// healthy while an engine takes its asks (lease mode) or every engine group
// has an engine taking hits (report mode), with the state of its engines,
// bus and cache as detail. A replica keeps answering without them, but
// then from its fallback: it reports that rather than stay green.
func (l *Limiter) HealthCheck() ratelimit.Health {
	return func() (bool, map[string]any) {
		h := l.Health()
		detail := map[string]any{
			"engine_connected":  h.EngineConnected,
			"engines_connected": h.EnginesConnected,
			"bus_connected":     h.BusConnected,
			"dropped_hits":      h.DroppedHits,
			"cache_entries":     h.CacheEntries,
			"mode":              h.Mode,
		}
		if h.Mode == ModeLease.String() {
			detail["leases"] = h.Leases
			delete(detail, "dropped_hits") // no hits are reported
		}
		return h.EngineConnected, detail
	}
}
