package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"net/http"

	gostats "github.com/lyft/gostats"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/redisconn"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// runServe runs the all-in-one process: the RLS and, in async mode, a
// throttle engine on the same gRPC server, its replica reporting to it.
func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f rlsFlags
	var af asyncFlags
	f.register(fs)
	af.register(fs, false)
	mode := fs.String("mode", "async", "counting mode: async (answers from the local decision cache, counted by the engine) or exact (counted per request in the store)")
	var redisURLs listFlag
	fs.Var(&redisURLs, "redis", "Redis `URL[,URL]`: the counters (on the first), and in async mode the decision bus (on all); redis://, rediss://, redis+sentinel://, redis+cluster://")
	memcached := fs.String("memcached", "", "memcached servers `host:port,...` of the counters")
	counterPrefix := fs.String("counter-prefix", "", "async mode: prefix of the engine's counter keys")
	flush := fs.Duration("flush-interval", 20*time.Millisecond, "async mode: how often the engine adds hits to the counters and publishes decisions")
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
	urls := redisURLs.items()
	switch {
	case *mode != "exact" && *mode != "async":
		return fmt.Errorf("--mode %q: want async or exact", *mode)
	case *mode == "exact" && len(urls) > 1:
		return errors.New("--redis: exact mode counts in one Redis; give one URL")
	}
	ep := newEndpoints(f.grpcAddr, f.httpAddr, rlsServerOptions()...)
	if err := ep.listen(); err != nil {
		return err
	}
	defer ep.release()

	var (
		limiter ratelimit.Limiter
		health  ratelimit.Health
		engine  *decisions.Engine
	)
	switch *mode {
	case "exact":
		// The service prefixes keys itself: the engine must build the same ones.
		store, err := openCounters(first(urls), *memcached, "")
		if err != nil {
			return err
		}
		if len(urls) > 0 || *memcached != "" {
			// Concurrent requests share round trips to the shared store.
			store = counter.NewBatching(store, counter.BatchingOptions{})
		}
		defer store.Close()
		limiter = ratelimit.NewExactLimiter(store)
	case "async":
		store, err := openCounters(first(urls), *memcached, *counterPrefix)
		if err != nil {
			return err
		}
		defer store.Close()
		var bus interface {
			decisions.Publisher
			decisions.Subscriber
		} = &decisions.MemoryBus{}
		if len(urls) > 0 {
			b, err := openBrokers(urls, stats, slog.Default())
			if err != nil {
				return err
			}
			defer b.close()
			bus = b.bus
		}
		engine, err = decisions.NewEngine(decisions.EngineOptions{Counter: store, Publisher: bus, KeyPrefix: f.prefix,
			FlushInterval: *flush, Stats: stats, Logger: slog.Default()})
		if err != nil {
			return err
		}
		defer engine.Close()
		engine.Register(ep.grpc)
		lim, h, err := af.limiter([][]string{{ep.loopbackGRPC()}}, bus, stats)
		if err != nil {
			return err
		}
		ep.beforeStop = append(ep.beforeStop, func() { lim.Close() })
		limiter, health = lim, h
	}

	svc := newService(&f, limiter, stats)
	apply := func(s *policy.Snapshot) {
		svc.SetSnapshot(s)
		if engine != nil {
			engine.SetSnapshot(s)
		}
	}
	snap, err := f.policies.start(ctx, stats, apply, svc.RejectSnapshot)
	if err != nil {
		return err
	}
	serveRLS(ep, svc, health, prom.Handler(stats.Flush))
	slog.Info("floodgate serving", "mode", *mode, "domains", snap.Domains())
	return ep.run(ctx)
}

func newService(f *rlsFlags, limiter ratelimit.Limiter, stats gostats.Scope) *ratelimit.Service {
	return ratelimit.NewService(ratelimit.Options{
		Limiter:        limiter,
		Stats:          stats,
		KeyPrefix:      f.prefix,
		ShadowMode:     f.shadow,
		NearLimitRatio: f.nearRatio,
		Headers:        f.headers,
	})
}

// serveRLS puts the RLS on a role's endpoints.
func serveRLS(ep *endpoints, svc *ratelimit.Service, health ratelimit.Health, metrics http.Handler) {
	svc.Register(ep.grpc)
	ep.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	ep.health.SetServingStatus("envoy.service.ratelimit.v3.RateLimitService", healthpb.HealthCheckResponse_SERVING)
	ep.mux.Handle("/", svc.HTTPHandler(health))
	ep.mux.Handle("GET /metrics", metrics)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// openCounters opens the counter store the flags name: Redis, memcached, or
// the in-process store when neither is given.
func openCounters(redisURL, memcached, prefix string) (counter.Store, error) {
	switch {
	case redisURL != "" && memcached != "":
		return nil, fmt.Errorf("--redis and --memcached: give one counter store, not both")
	case redisURL != "":
		client, err := redisconn.New(redisURL)
		if err != nil {
			return nil, fmt.Errorf("--redis: %w", err)
		}
		return closingRedis{counter.NewRedis(client, prefix), client}, nil
	case memcached != "":
		return counter.NewMemcached(strings.Split(memcached, ","), prefix), nil
	}
	return counter.NewMemory(), nil
}

// closingRedis closes the client the counters own along with them.
type closingRedis struct {
	*counter.Redis
	client interface{ Close() error }
}

func (c closingRedis) Close() error { return errors.Join(c.Redis.Close(), c.client.Close()) }
