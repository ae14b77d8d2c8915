package main

import (
	"context"
	"errors"
	"log/slog"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// openAsync runs a throttle engine on an in-process gRPC server, counting in
// the flags' store and publishing on their bus (in memory without --redis),
// and opens a replica limiter that reports to it.
func (f *serveFlags) openAsync(stats gostats.Scope) (*serveRole, error) {
	var closers []func(ctx context.Context)
	r := &serveRole{close: func(ctx context.Context) {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i](ctx)
		}
	}}
	fail := func(err error) (*serveRole, error) { r.close(context.Background()); return nil, err }

	urls := f.redis.urls()
	counterURL := first(urls)
	if f.counterRedis != "" {
		counterURL = f.counterRedis
	}
	if f.memcached != "" && f.async.mode != replica.ModeReport.String() {
		return nil, errors.New("--memcached: memcached counters grant no leases; use Redis, the in-process store, or --async-mode report")
	}
	store, err := openCounters(counterURL, f.memcached, f.counterPrefix, f.memoryBytes)
	if err != nil {
		return nil, err
	}
	closers = append(closers, func(context.Context) { store.Close() })
	var bus decisions.Bus = &decisions.MemoryBus{}
	if len(urls) > 0 {
		b, err := openBrokers(urls, stats, slog.Default())
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func(context.Context) { b.Close() })
		bus = b.Bus
	}
	r.bus = bus
	global, closeGlobal, err := f.global.open(f.rls.dc.name)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func(context.Context) { closeGlobal() })
	r.engine, err = decisions.NewEngine(decisions.EngineOptions{Counter: store, Global: global, CounterName: counterName(counterURL, f.memcached), Publisher: bus, KeyPrefix: f.rls.prefix, KeyEncoding: f.rls.encoding,
		FlushInterval: f.flush, MaxDecisions: f.maxDecisions, Stats: stats, Logger: slog.Default()})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func(ctx context.Context) { r.engine.CloseContext(ctx) })
	// The engine is reachable from this process only: on the public port
	// anyone could stream forged hits to it and throttle any key.
	local := serving.NewLocal(decisions.ServerOptions()...)
	r.engine.Register(local.GRPC)
	local.Start()
	closers = append(closers, func(ctx context.Context) { local.Stop(untilDeadline(ctx)) })
	lim, err := f.async.limiter([][]string{{local.Target()}}, bus, stats, local.DialOptions()...)
	if err != nil {
		return fail(err)
	}
	// The limiter closes with the role, after the RLS has drained: its
	// final flush carries every hit the RLS answered, then the engine's
	// carries them to the counters.
	closers = append(closers, func(ctx context.Context) { lim.CloseContext(ctx) })
	r.limiter, r.health = lim, lim.HealthCheck()
	return r, nil
}
