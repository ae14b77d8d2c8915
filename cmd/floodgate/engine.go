package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/decisions"
)

// runEngine runs a throttle engine: it counts the hits replicas stream to
// it and publishes decisions to every Redis broker.
func runEngine(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("engine", flag.ContinueOnError)
	var pf policyFlags
	var sf statsFlags
	var lf logFlags
	pf.register(fs)
	sf.register(fs)
	lf.register(fs)
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:8091", "gRPC `address` replicas stream hits to")
	httpAddr := fs.String("http-addr", "127.0.0.1:8092", "HTTP `address` of /healthcheck and /metrics")
	var redisURLs listFlag
	fs.Var(&redisURLs, "redis", "Redis `URL[,URL]`: decisions go to every one; counters live on the first unless --memcached is given")
	memcached := fs.String("memcached", "", "memcached servers `host:port,...` of the counters")
	id := fs.String("id", "", "engine id in decisions (default host-pid)")
	keyPrefix := fs.String("key-prefix", "", "the RLS replicas' --key-prefix: decisions name keys as they do")
	counterPrefix := fs.String("counter-prefix", "", "prefix of counter keys; engines of different replica groups need different ones (or stores)")
	flush := fs.Duration("flush-interval", 20*time.Millisecond, "how often received hits are added to the counters and decisions published")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := lf.install(); err != nil {
		return err
	}
	urls := redisURLs.items()
	if len(urls) == 0 {
		return errors.New("--redis: an engine publishes decisions over Redis; give at least one URL")
	}
	stats, prom, err := sf.open(ctx)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	counterURL := urls[0]
	if *memcached != "" {
		counterURL = ""
	}
	store, err := openCounters(counterURL, *memcached, *counterPrefix)
	if err != nil {
		return err
	}
	defer store.Close()
	b, err := openBrokers(urls, stats, slog.Default())
	if err != nil {
		return err
	}
	defer b.close()
	bus := b.bus
	eng, err := decisions.NewEngine(decisions.EngineOptions{ID: *id, Counter: store, Publisher: bus,
		KeyPrefix: *keyPrefix, FlushInterval: *flush, Stats: stats, Logger: slog.Default()})
	if err != nil {
		return err
	}
	// Close flushes what is pending: it runs after the servers stop.
	defer eng.Close()
	snap, err := pf.start(ctx, stats, eng.SetSnapshot, func() {})
	if err != nil {
		return err
	}
	ep := newEndpoints(*grpcAddr, *httpAddr)
	eng.Register(ep.grpc)
	ep.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	ep.mux.HandleFunc("GET /healthcheck", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK\n") })
	ep.mux.Handle("GET /metrics", prom.Handler(stats.Flush))
	slog.Info("throttle engine serving", "id", eng.ID(), "redis", b.names, "domains", snap.Domains())
	return ep.run(ctx)
}
