package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/ratelimit"
)

// exactFlags configure exact mode's answers while its counter store is
// down.
type exactFlags struct {
	onStoreDown  ratelimit.StoreDown
	storeTimeout time.Duration
	replicas     int
}

func (f *exactFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.onStoreDown, "on-store-down", "exact mode: the answer while the counter store does not answer, at once: allow (OK, as Envoy's failure_mode_deny: false makes of envoyproxy/ratelimit's error), deny (OVER_LIMIT), or local (count in this process, each limit divided by --replicas)")
	fs.DurationVar(&f.storeTimeout, "store-timeout", 100*time.Millisecond, "exact mode: most one counter store round trip may take; 3 failures in a row (or a failed ping) open the store's circuit breaker")
	fs.IntVar(&f.replicas, "replicas", 1, "exact mode: how many replicas share the counter store; with --on-store-down local each admits its limit / replicas")
}

// openExact opens exact mode: the flags' counter store behind its circuit
// breaker, batched, and the limiter answering by --on-store-down while the
// breaker is open; the role's health fails meanwhile.
func (f *serveFlags) openExact(stats gostats.Scope) (*serveRole, error) {
	if f.exact.replicas < 1 {
		return nil, errors.New("--replicas: at least 1")
	}
	if f.memcached != "" && len(f.redis.urls()) > 0 {
		return nil, errors.New("--redis and --memcached: give one counter store, not both")
	}
	loc := counter.Location{RedisURL: first(f.redis.urls()), PerSecondRedisURL: f.perSecond, Batched: true,
		Memory:    counter.MemoryOptions{MaxBytes: f.memoryBytes},
		Breaker:   &counter.BreakerOptions{Timeout: f.exact.storeTimeout, Stats: stats.Scope("exact"), Logger: slog.Default()},
		PoolStats: stats.ScopeWithTags("ratelimit", f.rls.stats.tags)}
	if err := useMemcached(&loc, f.memcached); err != nil {
		return nil, err
	}
	// The service prefixes keys itself.
	store, err := counter.Open(loc)
	if err != nil {
		return nil, fmt.Errorf("counter store %s: %w", loc.Name(), err)
	}
	closers := []func() error{store.Close}
	o := ratelimit.ExactOptions{OnStoreDown: f.exact.onStoreDown, Replicas: f.exact.replicas, Stats: stats,
		StopIncrementOverLimit: f.rls.stopIncr.on}
	if o.OnStoreDown == ratelimit.StoreDownLocal {
		local := counter.NewMemoryWith(counter.MemoryOptions{MaxBytes: f.memoryBytes})
		o.Local = local
		closers = append(closers, local.Close)
	}
	lim := ratelimit.NewExactLimiterWith(store, o)
	return &serveRole{limiter: lim, health: lim.HealthCheck(), close: func(context.Context) {
		for _, c := range closers {
			c()
		}
	}}, nil
}
