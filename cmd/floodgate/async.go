package main

import (
	"flag"
	"fmt"
	"log/slog"
	"time"

	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// openBrokers opens the decision bus over the --redis URLs.
func openBrokers(urls []string, stats gostats.Scope, log *slog.Logger) (*decisions.Brokers, error) {
	b, err := decisions.OpenBrokers(urls, decisions.RedisBusOptions{Stats: stats, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	return b, nil
}

// asyncFlags configure an RLS replica's async limiter.
type asyncFlags struct {
	engines        listFlag
	policy         string
	mode           string
	leaseHorizon   time.Duration
	leaseWait      time.Duration
	overdraftRatio float64
	maxReplicas    int
	onEngineDown   string
	cacheSize      int
	cacheBytes     int
	reportBytes    int
	report         time.Duration
}

func (f *asyncFlags) register(fs *flag.FlagSet, withEngines bool) {
	if withEngines {
		fs.Var(&f.engines, "engine", "throttle engine `ADDR[,ADDR]` of one group; repeat the flag for more groups (every group sees every hit)")
		fs.StringVar(&f.policy, "engine-policy", "loadbalance", "how a group picks its engine: loadbalance (round robin over healthy engines) or failover (first healthy)")
	}
	fs.StringVar(&f.mode, "async-mode", "lease", "how async mode admits: lease (spends tokens engines granted ahead: admitted stays within (1+overdraft ratio) x the limit) or report (admits, then reports hits: over-admits by rate x delay)")
	fs.DurationVar(&f.leaseHorizon, "lease-horizon", 100*time.Millisecond, "lease mode: how long a grant should last at a key's recent rate")
	fs.DurationVar(&f.leaseWait, "lease-wait", 50*time.Millisecond, "lease mode: longest a request that finds no tokens waits for a grant before it is denied; shorter when the caller's deadline (Envoy's timeout) would pass first")
	fs.Float64Var(&f.overdraftRatio, "overdraft-ratio", 0.005, "lease mode: ε; a replica admits up to ε x limit / replicas of a cold key before its first grant (negative: none). Keys whose share is under one token wait for a grant per request")
	fs.IntVar(&f.maxReplicas, "max-replicas", 0, "lease mode: the replicas sharing a key, for the overdraft and the engine-down share (0: as the engines count them)")
	fs.StringVar(&f.onEngineDown, "on-engine-down", "share", "answer while no engine can grant: share (spend the tokens held, then this replica's share of what remained), allow (count locally up to the limit) or deny")
	fs.IntVar(&f.cacheSize, "decision-cache-size", 1<<20, "most keys the local decision cache holds")
	fs.IntVar(&f.cacheBytes, "decision-cache-bytes", 256<<20, "most bytes the local decision cache holds, keys included; over it entries are evicted and counted")
	fs.IntVar(&f.reportBytes, "report-buffer-bytes", 64<<20, "most bytes the hits waiting for the next report hold, descriptors included; hits of further keys are dropped and counted")
	fs.DurationVar(&f.report, "report-interval", 20*time.Millisecond, "how long hits aggregate before they are streamed to the engines; shorter is more accurate, longer is cheaper")
}

// groups is one address list per --engine flag.
func (f *asyncFlags) groups() [][]string {
	var gs [][]string
	for _, g := range f.engines {
		if items := (listFlag{g}).items(); len(items) > 0 {
			gs = append(gs, items)
		}
	}
	return gs
}

// limiter opens the async limiter these flags describe, reporting to the
// engine groups and following bus.
// dial, when given, replaces the dial options of the engine streams.
func (f *asyncFlags) limiter(groups [][]string, bus decisions.Subscriber, stats gostats.Scope, dial ...grpc.DialOption) (*replica.Limiter, error) {
	pol, err := replica.ParseEnginePolicy(f.policy)
	if err != nil {
		return nil, fmt.Errorf("--engine-policy: %w", err)
	}
	down, err := replica.ParseOnEngineDown(f.onEngineDown)
	if err != nil {
		return nil, fmt.Errorf("--on-engine-down: %w", err)
	}
	mode, err := replica.ParseMode(f.mode)
	if err != nil {
		return nil, fmt.Errorf("--async-mode: %w", err)
	}
	if mode == replica.ModeLease && len(groups) > 1 {
		return nil, fmt.Errorf("--engine: lease mode takes one engine group (its engines share the counter store); %d given", len(groups))
	}
	return replica.NewLimiter(replica.Options{
		Mode: mode,
		Leases: replica.LeaseOptions{Horizon: f.leaseHorizon, Wait: f.leaseWait,
			OverdraftRatio: f.overdraftRatio, MaxReplicas: f.maxReplicas},
		Engines: replica.HitReporterOptions{Groups: groups, Policy: pol, FlushInterval: f.report,
			MaxBytes: f.reportBytes, DialOptions: dial},
		Decisions:    bus,
		Cache:        replica.DecisionCacheOptions{MaxEntries: f.cacheSize, MaxBytes: f.cacheBytes},
		OnEngineDown: down,
		Stats:        stats,
		Logger:       slog.Default(),
	})
}
