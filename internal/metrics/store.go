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
	// Statsd is a statsd host:port, reached over TCP as gostats and
	// envoyproxy/ratelimit do by default; empty: /metrics only.
	Statsd string
	// FlushInterval is how often stats are flushed; 10s when zero.
	FlushInterval time.Duration
	// Values, if set, is flushed with the store to the same sinks, and
	// frees its idle keys' series from /metrics.
	Values *ValueStats
	// Text, if set, receives every stat too, for a debug listener's /stats.
	Text *TextSink
}

func (o StoreOptions) withDefaults() StoreOptions {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 10 * time.Second
	}
	return o
}

// OpenStore builds a process's stats store, flushing to a PrometheusSink
// (returned, for /metrics) and to statsd when configured, and starts its
// flusher, which stops with ctx.
func OpenStore(ctx context.Context, o StoreOptions) (gostats.Store, *PrometheusSink, error) {
	o = o.withDefaults()
	prom := NewPrometheusSink()
	sinks := Fanout{prom}
	if o.Text != nil {
		sinks = append(sinks, o.Text)
	}
	if o.Statsd != "" {
		host, port, err := net.SplitHostPort(o.Statsd)
		if err != nil {
			return nil, nil, fmt.Errorf("statsd address %q: %w", o.Statsd, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, nil, fmt.Errorf("statsd address %q: port: %w", o.Statsd, err)
		}
		sinks = append(sinks, gostats.NewNetSink(gostats.WithStatsdHost(host), gostats.WithStatsdPort(p),
			gostats.WithLogger(statsdLogger{})))
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
