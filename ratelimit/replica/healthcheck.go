package replica

import "github.com/floodgate/floodgate/ratelimit"

// HealthCheck is what the RLS reports at /healthcheck for this limiter:
// healthy while it can answer as configured, that is always when it fails
// open and only with every engine group connected when it fails closed,
// with the state of its engines, bus and cache as detail.
func (l *Limiter) HealthCheck() ratelimit.Health {
	return func() (bool, map[string]any) {
		h := l.Health()
		detail := map[string]any{
			"engine_connected":  h.EngineConnected,
			"engines_connected": h.EnginesConnected,
			"bus_connected":     h.BusConnected,
			"dropped_hits":      h.DroppedHits,
			"cache_entries":     h.CacheEntries,
		}
		return h.EngineConnected || l.down != EngineDownDeny, detail
	}
}
