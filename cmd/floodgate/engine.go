package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/policy"
)

// engineFlags configure a throttle engine.
type engineFlags struct {
	policies      policyFlags
	stats         statsFlags
	log           logFlags
	grpcAddr      string
	httpAddr      string
	tls           listenerTLSFlags
	auth          engineAuthFlags
	redis         urlListFlag
	counterRedis  string
	memcached     string
	id            string
	keyPrefix     string
	keyEncoding   policy.KeyEncoding
	counterPrefix string
	flush         time.Duration
	memoryBytes   int
	pendingBytes  int
	throttleBytes int
	maxDecisions  int
	serving       servingFlags
	global        globalFlags
	datacenter    datacenterFlag
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	f.policies.register(fs)
	f.stats.register(fs)
	f.log.register(fs)
	fs.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:8091", "gRPC `address` replicas stream hits to: host:port, or a unix socket unix:///path")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8092", "HTTP `address` of /healthcheck and /metrics")
	f.tls.register(fs)
	f.auth.register(fs)
	fs.Var(&f.redis, "redis", "Redis `URL[,URL]`: decisions go to every one; counters live on the first unless --counter-redis or --memcached is given")
	fs.StringVar(&f.counterRedis, "counter-redis", "", "Redis `URL` of the counters and lease grants, apart from the decision brokers, so that losing a broker never stops counting; any Redis URL form (redis+sentinel://, redis+cluster://)")
	fs.StringVar(&f.memcached, "memcached", "", "memcached servers `host:port,...` of the counters")
	fs.StringVar(&f.id, "id", "", "engine id in decisions (default host-pid)")
	fs.StringVar(&f.keyPrefix, "key-prefix", "", "the RLS replicas' --key-prefix: decisions name keys as they do")
	fs.Var(&f.keyEncoding, "key-encoding", "the RLS replicas' --key-encoding: compat or unambiguous")
	fs.StringVar(&f.counterPrefix, "counter-prefix", "", "prefix of counter keys; engines of different replica groups need different ones (or stores)")
	fs.IntVar(&f.memoryBytes, "counter-memory-bytes", 256<<20, "most bytes the in-process counters hold (without --redis/--memcached); over it counters are evicted and counted")
	fs.IntVar(&f.pendingBytes, "max-pending-bytes", 256<<20, "most bytes the hits waiting for a flush hold; hits of further keys are dropped and counted")
	fs.IntVar(&f.throttleBytes, "max-throttled-bytes", 256<<20, "most bytes the throttles kept until their window ends hold; over it some are forgotten and counted")
	fs.DurationVar(&f.flush, "flush-interval", 20*time.Millisecond, "how often received hits are added to the counters and decisions published")
	f.serving.register(fs, engineMaxConnectionAge)
	f.global.register(fs)
	f.datacenter.register(fs)
	fs.IntVar(&f.maxDecisions, "max-decisions", 100_000, "most throttle decisions this engine keeps in force; further ones are refused and counted while their hits are still counted")
}

// runEngine runs a throttle engine: it counts the hits replicas stream to
// it and publishes decisions to every Redis broker.
func runEngine(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("engine", flag.ContinueOnError)
	var f engineFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.log.install(); err != nil {
		return err
	}
	f.datacenter.install()
	if len(f.redis.urls()) == 0 {
		return errors.New("--redis: an engine publishes decisions over Redis; give at least one URL")
	}
	stats, prom, err := f.stats.open(ctx)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	eng, b, closeAll, err := f.open(stats)
	if err != nil {
		return err
	}
	// Close flushes what is pending: it runs after the servers stop, within
	// the one deadline.
	defer f.serving.stop().Run("engine flush and close", closeAll)
	snap, err := f.policies.start(ctx, stats, eng.SetSnapshot, func() {})
	if err != nil {
		return err
	}
	so, err := f.serverOptions(recvAtLeast(f.serving.options(stats), decisions.MaxHitBatchBytes), stats)
	if err != nil {
		return err
	}
	srv := serving.New(so)
	eng.ServeOn(srv)
	srv.Mux.Handle("GET /metrics", prom.Handler(stats.Flush))
	slog.Info("throttle engine serving", "id", eng.ID(), "redis", b.Names, "domains", snap.Domains())
	return listenAndServe(ctx, srv, f.grpcAddr, f.httpAddr)
}

// open opens the counters (on the first --redis unless --memcached), the
// brokers and the engine over them; closeAll closes the three in turn.
func (f *engineFlags) open(stats gostats.Scope) (_ *decisions.Engine, _ *decisions.Brokers, closeAll func(context.Context), _ error) {
	urls := f.redis.urls()
	counterURL := urls[0]
	switch {
	case f.counterRedis != "" && f.memcached != "":
		return nil, nil, nil, errors.New("--counter-redis and --memcached: give one counter store, not both")
	case f.counterRedis != "":
		counterURL = f.counterRedis
	case f.memcached != "":
		counterURL = ""
	}
	store, err := openCounters(counterURL, f.memcached, f.counterPrefix, f.memoryBytes)
	if err != nil {
		return nil, nil, nil, err
	}
	if f.memcached != "" {
		slog.Warn("memcached counters grant no leases: replicas reporting to this engine must run --async-mode report")
	}
	global, closeGlobal, err := f.global.open(f.datacenter.name)
	if err != nil {
		store.Close()
		return nil, nil, nil, err
	}
	b, err := openBrokers(urls, stats, slog.Default())
	if err != nil {
		closeGlobal()
		store.Close()
		return nil, nil, nil, err
	}
	eng, err := decisions.NewEngine(decisions.EngineOptions{ID: f.id, Counter: store, Publisher: b.Bus, Global: global,
		CounterName: counterName(counterURL, f.memcached),
		KeyPrefix:   f.keyPrefix, KeyEncoding: f.keyEncoding, FlushInterval: f.flush,
		MaxPendingBytes: f.pendingBytes, MaxThrottledBytes: f.throttleBytes, MaxDecisions: f.maxDecisions, Stats: stats, Logger: slog.Default()})
	if err != nil {
		b.Close()
		closeGlobal()
		store.Close()
		return nil, nil, nil, err
	}
	return eng, b, func(ctx context.Context) { eng.CloseContext(ctx); b.Close(); closeGlobal(); store.Close() }, nil
}
