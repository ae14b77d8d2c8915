package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/floodgate/floodgate/internal/serving"
)

// runRLS runs one RLS replica: it answers from its decision cache, reports
// hits to the throttle engines and follows their decisions over Redis.
func runRLS(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rls", flag.ContinueOnError)
	var f rlsFlags
	var af asyncFlags
	var ef engineClientFlags
	f.register(fs)
	af.register(fs, true)
	ef.register(fs)
	var redisURLs urlListFlag
	fs.Var(&redisURLs, "redis", "Redis `URL[,URL]` the decisions arrive on: independent brokers, used first-reachable")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.log.install(); err != nil {
		return err
	}
	f.dc.install()
	if err := f.stopIncr.check("async"); err != nil {
		return err
	}
	groups := af.groups()
	if len(groups) == 0 {
		return errors.New("--engine: an RLS replica needs at least one throttle engine")
	}
	if len(redisURLs.urls()) == 0 {
		return errors.New("--redis: an RLS replica needs the Redis its engines publish decisions to")
	}
	stats, prom, err := f.stats.open(ctx)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	b, err := openBrokers(redisURLs.urls(), stats, slog.Default())
	if err != nil {
		return err
	}
	defer b.Close()
	dial, err := ef.dialOptions(groups, stats)
	if err != nil {
		return err
	}
	lim, err := af.limiter(groups, b.Bus, stats, dial...)
	if err != nil {
		return err
	}
	// The replica closes after the servers drain, within the one deadline:
	// the hits it answered go to the engines and the tokens it holds back.
	defer f.serving.stop().Run("replica flush", func(ctx context.Context) { lim.CloseContext(ctx) })

	svc := newService(&f, lim, stats)
	snap, err := f.policies.start(ctx, stats, svc.SetSnapshot, svc.RejectSnapshot)
	if err != nil {
		return err
	}
	so := f.serving.options(stats, rlsServerOptions(f.stats.serverStats(stats))...)
	if err := f.tls.apply(&so, stats); err != nil {
		return err
	}
	srv := serving.New(so)
	serveRLS(ctx, srv, svc, lim.HealthCheck(), prom.Handler(stats.Flush))
	if _, err := f.rlqs.serve(srv, svc, lim, stats); err != nil {
		return err
	}
	slog.Info("rls replica serving", "engines", groups, "redis", b.Names, "domains", snap.Domains())
	return listenAndServe(ctx, srv, f.grpcAddr, f.httpAddr)
}
