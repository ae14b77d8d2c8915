package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	gostats "github.com/lyft/gostats"
)

// StoreOptions say where a process's stats go: always to /metrics, and to
// statsd when Statsd is set.
type StoreOptions struct {
	// Statsd is a statsd host:port; empty: /metrics only.
	Statsd string
	// StatsdProtocol is "udp" (the default, statsd's own) or "tcp" (what
	// envoyproxy/ratelimit's USE_STATSD sends).
	StatsdProtocol string
	// DogStatsd sends to Statsd in DogStatsD's format over UDP, tags as
	// DogStatsD tags (envoyproxy/ratelimit's USE_DOG_STATSD).
	DogStatsd bool
	// Disabled sends stats nowhere, /metrics included (DISABLE_STATS).
	Disabled bool
	// FlushInterval is how often stats are flushed; 10s when zero.
	FlushInterval time.Duration
	// Values, if set, is flushed with the store to the same sinks, and
	// frees its idle keys' series from /metrics.
	Values *ValueStats
	// Text, if set, receives every stat too, for a debug listener's /stats.
	Text *TextSink
	// Prometheus bounds /metrics' series and names the extra tags' labels.
	Prometheus BridgeOptions
}

func (o StoreOptions) withDefaults() StoreOptions {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 10 * time.Second
	}
	if o.StatsdProtocol == "" {
		o.StatsdProtocol = "udp"
	}
	return o
}

// OpenStore builds a process's stats store, flushing to a Prometheus
// registry's Bridge (returned, for /metrics) and to statsd when configured, and starts its
// flusher, which stops with ctx.
func OpenStore(ctx context.Context, o StoreOptions) (gostats.Store, *Prometheus, error) {
	o = o.withDefaults()
	prom := NewPrometheus(o.Prometheus)
	sinks := Fanout{prom.Bridge}
	if o.Text != nil {
		sinks = append(sinks, o.Text)
	}
	switch {
	case o.Disabled:
		sinks = Fanout{gostats.NewNullSink()}
	case o.DogStatsd:
		if o.Statsd == "" {
			return nil, nil, fmt.Errorf("dogstatsd: no statsd address")
		}
		d, err := NewDogStatsdSink(o.Statsd)
		if err != nil {
			return nil, nil, err
		}
		sinks = append(sinks, d)
	case o.Statsd != "":
		host, port, err := net.SplitHostPort(o.Statsd)
		if err != nil {
			return nil, nil, fmt.Errorf("statsd address %q: %w", o.Statsd, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, nil, fmt.Errorf("statsd address %q: port: %w", o.Statsd, err)
		}
		if o.StatsdProtocol != "udp" && o.StatsdProtocol != "tcp" {
			return nil, nil, fmt.Errorf("statsd %s: protocol %q: want udp or tcp", o.Statsd, o.StatsdProtocol)
		}
		sinks = append(sinks, gostats.NewNetSink(gostats.WithStatsdHost(host), gostats.WithStatsdPort(p),
			gostats.WithStatsdProtocol(o.StatsdProtocol), gostats.WithLogger(statsdLogger{})))
	}
	store := gostats.NewStore(sinks, false)
	if o.Values != nil {
		o.Values.Attach(store, sinks)
	}
	go store.StartContext(ctx, time.NewTicker(o.FlushInterval))
	return store, prom, nil
}

// statsdLogger routes the statsd sink's complaints through slog.
type statsdLogger struct{}

func (statsdLogger) Errorf(msg string, args ...any) {
	slog.Error("statsd", "error", fmt.Sprintf(msg, args...))
}

func (statsdLogger) Warnf(msg string, args ...any) {
	slog.Warn("statsd", "warning", fmt.Sprintf(msg, args...))
}
