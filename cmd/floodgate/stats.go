package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/internal/metrics"
	"github.com/floodgate/floodgate/ratelimit"
)

// statsFlags configure where stats go: always /metrics, and statsd when
// an address is given.
type statsFlags struct {
	statsd     string
	protocol   string
	dogStatsd  bool
	extraTags  string
	disabled   bool
	interval   time.Duration
	valueStats int
	// tags are extraTags parsed; set by open.
	tags map[string]string
	// values holds the RLS's stats named by request values; made by open.
	values  *metrics.ValueStats
	debug   debugFlags
	metrics metricsFlags
}

func (f *statsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.statsd, "statsd", "", "statsd `host:port` to flush stats to; empty: /metrics only")
	fs.StringVar(&f.protocol, "statsd-protocol", "udp", "statsd transport: udp, or tcp as envoyproxy/ratelimit's USE_STATSD sends")
	fs.BoolVar(&f.dogStatsd, "dogstatsd", false, "send to --statsd in DogStatsD's format over UDP, tags as DogStatsD tags")
	fs.StringVar(&f.extraTags, "stats-extra-tags", "", "tags `k:v,...` on every ratelimit and ratelimit_server stat")
	fs.BoolVar(&f.disabled, "disable-stats", false, "send stats nowhere, /metrics included")
	fs.DurationVar(&f.interval, "stats-interval", 10*time.Second, "how often stats are flushed to statsd")
	f.debug.register(fs)
	f.metrics.register(fs)
	fs.IntVar(&f.valueStats, "max-value-stats", 10_000, "most stats keys named by request values (detailed_metric, value_to_metric, a descriptor's own limit) at once; more are counted under ratelimit.service.detailed_overflow, and keys idle for 6 flushes are freed")
}

// open builds the stats store and starts its flusher, and the debug
// listener if asked, both stopped with ctx.
func (f *statsFlags) open(ctx context.Context) (gostats.Store, *metrics.Prometheus, error) {
	tags, err := metrics.ParseTags(f.extraTags)
	if err != nil {
		return nil, nil, fmt.Errorf("--stats-extra-tags: %w", err)
	}
	f.tags = tags
	f.values = ratelimit.NewValueStats(metrics.ValueStatsOptions{MaxKeys: f.valueStats, Tags: tags})
	text := f.debug.sink()
	store, prom, err := metrics.OpenStore(ctx, metrics.StoreOptions{
		Statsd: f.statsd, StatsdProtocol: f.protocol, DogStatsd: f.dogStatsd, Disabled: f.disabled,
		FlushInterval: f.interval, Values: f.values, Text: text,
		Prometheus: metrics.BridgeOptions{MaxSeries: f.metrics.maxSeries, TagKeys: slices.Collect(maps.Keys(tags))},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("--statsd: %w", err)
	}
	// ratelimit.go.*, as envoyproxy/ratelimit's server adds them.
	store.AddStatGenerator(gostats.NewRuntimeStats(store.ScopeWithTags("ratelimit", tags).Scope("go")))
	if err := f.debug.start(ctx, store, text); err != nil {
		return nil, nil, fmt.Errorf("--debug-addr: %w", err)
	}
	if err := f.metrics.start(ctx, prom.Handler(store.Flush)); err != nil {
		return nil, nil, err
	}
	return store, prom, nil
}

// serverStats is the gRPC option that counts and times the RLS server's
// calls under ratelimit_server.
func (f *statsFlags) serverStats(stats gostats.Scope) grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(ratelimit.NewServerStats(stats, f.tags).UnaryInterceptor())
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
