package ratelimit

import (
	"encoding/json"
	"net/http"
)

// ServeHTTP answers GET /v1/domain-counts: {"domains": [...]}, each
// domain's answers since the process started; read-only.
func (c *DomainCounts) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"domains": c.Counts()})
}
