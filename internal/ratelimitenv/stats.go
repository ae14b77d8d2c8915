package ratelimitenv

import (
	"net"
	"strconv"
	"strings"
)

// stats reads the one stats sink envoyproxy/ratelimit allows: statsd (its
// default, over TCP), DogStatsD or Prometheus.
func (r *reader) stats() {
	if r.boolean("DISABLE_STATS", false) {
		r.set("disable-stats", "true", "DISABLE_STATS")
		return
	}
	dog := r.boolean("USE_DOG_STATSD", false)
	statsd := r.boolean("USE_STATSD", true)
	prom := r.boolean("USE_PROMETHEUS", false)
	var on []string
	for _, s := range []struct {
		name string
		on   bool
	}{{"USE_DOG_STATSD", dog}, {"USE_STATSD", statsd}, {"USE_PROMETHEUS", prom}} {
		if s.on {
			on = append(on, s.name)
		}
	}
	if len(on) > 1 {
		// USE_STATSD is true unless set false: envoyproxy/ratelimit refuses
		// USE_DOG_STATSD or USE_PROMETHEUS alone as well.
		r.fail(strings.Join(on, ", "), "true", "one stats sink at a time, as envoyproxy/ratelimit: set the others false (USE_STATSD defaults to true)")
		return
	}
	statsdAddr := func() string {
		return net.JoinHostPort(r.str("STATSD_HOST", "localhost"), strconv.Itoa(r.integer("STATSD_PORT", 8125)))
	}
	switch {
	case dog:
		r.set("statsd", statsdAddr(), "USE_DOG_STATSD", "STATSD_HOST", "STATSD_PORT")
		r.set("dogstatsd", "true", "USE_DOG_STATSD")
	case statsd:
		r.set("statsd", statsdAddr(), "USE_STATSD", "STATSD_HOST", "STATSD_PORT")
		r.set("statsd-protocol", "tcp", "USE_STATSD")
	case prom:
		r.set("metrics-addr", r.str("PROMETHEUS_ADDR", ":9090"), "USE_PROMETHEUS", "PROMETHEUS_ADDR")
		if p := r.str("PROMETHEUS_PATH", "/metrics"); p != "/metrics" {
			r.env.Notes = append(r.env.Notes, Note{Var: "PROMETHEUS_PATH", Why: "Prometheus is served at /metrics only"})
		}
		if r.has("PROMETHEUS_MAPPER_YAML") {
			r.env.Notes = append(r.env.Notes, Note{Var: "PROMETHEUS_MAPPER_YAML",
				Why: "no mapper: the series already carry envoyproxy/ratelimit's mapped names and labels"})
		}
	}
	r.fromVar("stats-extra-tags", "EXTRA_TAGS")
	r.fromVar("stats-interval", "STATS_FLUSH_INTERVAL")
}
