package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/metrics"
)

// statsFlags configure where stats go: always /metrics, and statsd when
// an address is given.
type statsFlags struct {
	statsd   string
	interval time.Duration
}

func (f *statsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.statsd, "statsd", "", "statsd `host:port` to flush stats to (UDP); empty: /metrics only")
	fs.DurationVar(&f.interval, "stats-interval", 10*time.Second, "how often stats are flushed to statsd")
}

// open builds the stats store and starts its flusher, stopped with ctx.
func (f *statsFlags) open(ctx context.Context) (gostats.Store, *metrics.PrometheusSink, error) {
	prom := metrics.NewPrometheusSink()
	sinks := metrics.Fanout{prom}
	if f.statsd != "" {
		host, port, err := net.SplitHostPort(f.statsd)
		if err != nil {
			return nil, nil, err
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, nil, err
		}
		sinks = append(sinks, gostats.NewNetSink(gostats.WithStatsdHost(host), gostats.WithStatsdPort(p),
			gostats.WithLogger(slogLogger{})))
	}
	store := gostats.NewStore(sinks, false)
	go store.StartContext(ctx, time.NewTicker(f.interval))
	return store, prom, nil
}

// slogLogger routes the statsd sink's complaints through slog.
type slogLogger struct{}

func (slogLogger) Errorf(msg string, args ...any) {
	slog.Error("statsd", "error", fmt.Sprintf(msg, args...))
}
func (slogLogger) Warnf(msg string, args ...any) {
	slog.Warn("statsd", "warning", fmt.Sprintf(msg, args...))
}

// logFlags configure log/slog.
type logFlags struct {
	level  string
	format string
}

func (f *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.format, "log-format", "text", "log format: text or json")
}

func (f *logFlags) install() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.level)); err != nil {
		return err
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if f.format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	slog.SetDefault(slog.New(h))
	return nil
}
