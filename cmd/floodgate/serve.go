package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/rlqs"
)

// serveFlags configure the all-in-one process.
type serveFlags struct {
	rls           rlsFlags
	async         asyncFlags
	exact         exactFlags
	mode          string
	redis         urlListFlag
	counterRedis  string
	perSecond     string
	memcached     string
	counterPrefix string
	flush         time.Duration
	memoryBytes   int
	maxDecisions  int
	env           ratelimitEnv
	global        globalFlags
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.rls.register(fs)
	f.async.register(fs, false)
	f.exact.register(fs)
	fs.StringVar(&f.mode, "mode", "async", "counting mode: async (answers from the local decision cache, counted by the engine) or exact (counted per request in the store)")
	fs.Var(&f.redis, "redis", "Redis `URL[,URL]`: the counters (on the first), and in async mode the decision bus (on all); redis://, rediss://, redis+sentinel://, redis+cluster://, unix://; a comma splits URLs only before a scheme")
	fs.StringVar(&f.memcached, "memcached", "", "memcached servers `host:port,...` of the counters (exact mode, or async mode with --async-mode report)")
	fs.StringVar(&f.perSecond, "redis-per-second", "", "exact mode: Redis `URL` of the counters of limits with unit second, apart from --redis (envoyproxy/ratelimit's REDIS_PERSECOND)")
	fs.StringVar(&f.counterRedis, "counter-redis", "", "async mode: Redis `URL` of the counters and lease grants, apart from the --redis decision brokers")
	fs.StringVar(&f.counterPrefix, "counter-prefix", "", "async mode: prefix of the engine's counter keys")
	fs.DurationVar(&f.flush, "flush-interval", 20*time.Millisecond, "async mode: how often the engine adds hits to the counters and publishes decisions")
	fs.IntVar(&f.maxDecisions, "max-decisions", 100_000, "async mode: most throttle decisions the engine keeps in force; further ones are refused and counted while their hits are still counted")
	fs.IntVar(&f.memoryBytes, "counter-memory-bytes", 256<<20, "most bytes the in-process counters hold (without --redis/--memcached); over it counters are evicted and counted")
	f.env.register(fs)
	f.global.register(fs)
}

func (f *serveFlags) check() error {
	switch {
	case f.mode != "exact" && f.mode != "async":
		return fmt.Errorf("--mode %q: want async or exact", f.mode)
	case f.mode == "exact" && len(f.redis.urls()) > 1:
		return errors.New("--redis: exact mode counts in one Redis; give one URL")
	case f.perSecond != "" && (f.mode != "exact" || len(f.redis.urls()) == 0):
		return errors.New("--redis-per-second: exact mode only, beside --redis")
	}
	return f.rls.stopIncr.check(f.mode)
}

// runServe runs the all-in-one process: the RLS and, in async mode, a
// throttle engine in the same process, its replica reporting to it. The
// role closes after the servers drain, so that every hit answered is
// counted.
func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.env.apply(fs); err != nil {
		return err
	}
	if err := f.rls.log.install(); err != nil {
		return err
	}
	f.rls.dc.install()
	f.env.log()
	stats, prom, err := f.rls.stats.open(ctx)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	if err := f.check(); err != nil {
		return err
	}
	lis, err := serving.Listen(f.rls.grpcAddr, f.rls.httpAddr)
	if err != nil {
		return err
	}
	defer lis.Close()
	counts := &ratelimit.DomainCounts{NearLimitRatio: f.rls.nearRatio}
	so := f.rls.serving.options(stats, rlsServerOptions(f.rls.stats.serverStats(stats), grpc.ChainUnaryInterceptor(counts.Interceptor()))...)
	if err := f.rls.tls.apply(&so, stats); err != nil {
		return err
	}
	srv := serving.New(so)
	r, err := f.open(stats)
	if err != nil {
		return err
	}
	defer f.rls.serving.stop().Run("flush and close", r.close)

	svc := newService(&f.rls, r.limiter, stats)
	snap, err := f.rls.policies.start(ctx, stats, r.apply(svc), svc.RejectSnapshot)
	if err != nil {
		return err
	}
	serveRLS(ctx, srv, svc, r.health, prom.Handler(stats.Flush))
	if r.rlqs, err = f.rls.rlqs.serve(srv, svc, r.limiter, stats); err != nil {
		return err
	}
	defer serveDashboard(ctx, srv, svc, r, counts)()
	slog.Info("floodgate serving", "mode", f.mode, "domains", snap.Domains())
	return serve(ctx, srv, lis)
}

// serveRole is what the all-in-one process counts and answers with.
type serveRole struct {
	limiter ratelimit.Limiter
	health  ratelimit.Health          // nil: always healthy
	engine  *decisions.Engine         // async mode only
	bus     decisions.Subscriber      // async mode only
	rlqs    *rlqs.Server              // lease mode with --rlqs
	close   func(ctx context.Context) // within ctx's deadline
}

// apply puts a snapshot in force in the service and the engine.
func (r *serveRole) apply(svc *ratelimit.Service) func(*policy.Snapshot) {
	return func(s *policy.Snapshot) {
		svc.SetSnapshot(s)
		if r.engine != nil {
			r.engine.SetSnapshot(s)
		}
	}
}

// open builds the limiter of --mode: in exact mode counters alone, in
// async mode an in-process engine with a replica reporting to it.
func (f *serveFlags) open(stats gostats.Scope) (*serveRole, error) {
	if f.mode == "exact" {
		return f.openExact(stats)
	}
	return f.openAsync(stats)
}
