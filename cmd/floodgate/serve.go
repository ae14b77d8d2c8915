package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/decisions/counter"
	"github.com/floodgate/floodgate/decisions/redisconn"
	"github.com/floodgate/floodgate/ratelimit"
)

// runServe runs the all-in-one process.
func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f rlsFlags
	f.register(fs)
	mode := fs.String("mode", "exact", "counting mode: async (local decisions, counted by the engine) or exact (counted per request)")
	redisURL := fs.String("redis", "", "Redis `URL` of the counters (redis://, rediss://, redis+sentinel://, redis+cluster://)")
	memcached := fs.String("memcached", "", "memcached servers `host:port,...` of the counters")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.log.install(); err != nil {
		return err
	}
	stats, prom, err := f.stats.open(ctx)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	// The service prefixes keys itself: the engine must build the same ones.
	store, err := openCounters(*redisURL, *memcached)
	if err != nil {
		return err
	}
	defer store.Close()

	var limiter ratelimit.Limiter
	switch *mode {
	case "exact":
		limiter = ratelimit.NewExactLimiter(store)
	default:
		return fmt.Errorf("--mode %q: want async or exact", *mode)
	}
	svc := ratelimit.NewService(ratelimit.Options{
		Limiter:        limiter,
		Stats:          stats,
		KeyPrefix:      f.prefix,
		ShadowMode:     f.shadow,
		NearLimitRatio: f.nearRatio,
		Headers:        f.headers,
	})
	snap, err := f.startPolicies(ctx, stats, svc.SetSnapshot, svc.RejectSnapshot)
	if err != nil {
		return err
	}

	ep := newEndpoints(f.grpcAddr, f.httpAddr)
	svc.Register(ep.grpc)
	ep.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	ep.health.SetServingStatus("envoy.service.ratelimit.v3.RateLimitService", healthpb.HealthCheckResponse_SERVING)
	ep.mux.Handle("/", svc.HTTPHandler(nil))
	ep.mux.Handle("GET /metrics", prom.Handler(stats.Flush))
	slog.Info("floodgate serving", "mode", *mode, "domains", len(snap.Domains()))
	return ep.run(ctx)
}

// openCounters opens the counter store the flags name: Redis, memcached, or
// the in-process store when neither is given.
func openCounters(redisURL, memcached string) (counter.Store, error) {
	switch {
	case redisURL != "" && memcached != "":
		return nil, fmt.Errorf("--redis and --memcached: give one counter store, not both")
	case redisURL != "":
		client, err := redisconn.New(redisURL)
		if err != nil {
			return nil, fmt.Errorf("--redis: %w", err)
		}
		return counter.NewRedis(client, ""), nil
	case memcached != "":
		return counter.NewMemcached(strings.Split(memcached, ","), ""), nil
	}
	return counter.NewMemory(), nil
}
