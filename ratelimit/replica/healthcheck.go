package replica

import "github.com/floodgate/floodgate/ratelimit"

// HealthCheck is what the RLS reports at /healthcheck for this limiter:
// healthy while every engine group has an engine taking hits, with the
// state of its engines, bus and cache as detail. A replica that fails open
// keeps answering without them, but every hit it takes meanwhile is dropped
// and limits hold only on its own traffic: it reports that rather than
// stay green.
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
		return h.EngineConnected, detail
	}
}
