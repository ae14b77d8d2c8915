// Package metrics exposes Floodgate's gostats as labelled Prometheus
// series through client_golang and fans flushes out to several sinks
// (statsd and Prometheus together).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prometheus is a role's registry: its stats through a Bridge, and the Go
// runtime and process collectors.
type Prometheus struct {
	Bridge   *Bridge
	Registry *prometheus.Registry
}

// NewPrometheus returns a registry over a new Bridge.
func NewPrometheus(o BridgeOptions) *Prometheus {
	p := &Prometheus{Bridge: NewBridge(o), Registry: prometheus.NewRegistry()}
	p.Registry.MustRegister(p.Bridge,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p
}

// Handler serves /metrics in Prometheus' text format; flush makes the
// store push its latest counts into the Bridge first, so a scrape is
// never a flush interval behind. OpenMetrics is not offered: it would add
// "_total" to envoyproxy/ratelimit's counter names.
func (p *Prometheus) Handler(flush func()) http.Handler {
	h := promhttp.HandlerFor(p.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if flush != nil {
			flush()
		}
		h.ServeHTTP(w, r)
	})
}
