package main

import (
	"log/slog"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/serving"
)

// openAsync puts a throttle engine on srv, counting in the flags' store and
// publishing on their bus (in memory without --redis), and opens a replica
// limiter that reports to it through lis.
func (f *serveFlags) openAsync(srv *serving.Server, lis serving.Listeners, stats gostats.Scope) (*serveRole, error) {
	var closers []func()
	r := &serveRole{close: func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}}
	fail := func(err error) (*serveRole, error) { r.close(); return nil, err }

	urls := f.redis.items()
	store, err := openCounters(first(urls), f.memcached, f.counterPrefix, false, f.memoryBytes)
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { store.Close() })
	var bus decisions.Bus = &decisions.MemoryBus{}
	if len(urls) > 0 {
		b, err := openBrokers(urls, stats, slog.Default())
		if err != nil {
			return fail(err)
		}
		closers = append(closers, b.Close)
		bus = b.Bus
	}
	r.engine, err = decisions.NewEngine(decisions.EngineOptions{Counter: store, Publisher: bus, KeyPrefix: f.rls.prefix, KeyEncoding: f.rls.encoding,
		FlushInterval: f.flush, MaxDecisions: f.maxDecisions, Stats: stats, Logger: slog.Default()})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { r.engine.Close() })
	r.engine.Register(srv.GRPC)
	lim, err := f.async.limiter([][]string{{lis.LoopbackGRPC()}}, bus, stats)
	if err != nil {
		return fail(err)
	}
	// The limiter's hit streams would hold the graceful stop open: it ends
	// before the servers drain (and with the role if it never serves).
	srv.BeforeStop(func() { lim.Close() })
	closers = append(closers, func() { lim.Close() })
	r.limiter, r.health = lim, lim.HealthCheck()
	return r, nil
}
