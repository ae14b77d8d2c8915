package decisions

import (
	"encoding/json"
	"net/http"
	"time"
)

// ThrottleJSON is one throttle in force as GET /v1/throttles shows it.
type ThrottleJSON struct {
	Domain    string    `json:"domain"`
	Key       string    `json:"key"`
	WindowEnd time.Time `json:"window_end"`
	Limit     uint32    `json:"limit"`
	Count     uint64    `json:"count"`
	Engine    string    `json:"engine"`
}

// Throttles returns the throttles in force in their JSON form.
func (b *ThrottleBoard) Throttles() []ThrottleJSON {
	ds := b.InForce()
	out := make([]ThrottleJSON, len(ds))
	for i, d := range ds {
		out[i] = ThrottleJSON{Domain: d.Domain, Key: d.Key, WindowEnd: time.Unix(d.WindowEnd, 0).UTC(),
			Limit: d.Limit, Count: d.Count, Engine: d.Engine}
	}
	return out
}

// ServeHTTP answers GET /v1/throttles: {"throttles": [...]}, read-only.
func (b *ThrottleBoard) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"throttles": b.Throttles()})
}
