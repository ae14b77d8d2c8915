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
	engines      listFlag
	policy       string
	onEngineDown string
	cacheSize    int
	cacheBytes   int
	reportBytes  int
	report       time.Duration
}

func (f *asyncFlags) register(fs *flag.FlagSet, withEngines bool) {
	if withEngines {
		fs.Var(&f.engines, "engine", "throttle engine `ADDR[,ADDR]` of one group; repeat the flag for more groups (every group sees every hit)")
		fs.StringVar(&f.policy, "engine-policy", "loadbalance", "how a group picks its engine: loadbalance (round robin over healthy engines) or failover (first healthy)")
	}
	fs.StringVar(&f.onEngineDown, "on-engine-down", "allow", "answer while no engine is reachable: allow (from what the replica knows) or deny")
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
	return replica.NewLimiter(replica.Options{
		Engines: replica.HitReporterOptions{Groups: groups, Policy: pol, FlushInterval: f.report,
			MaxBytes: f.reportBytes, DialOptions: dial},
		Decisions:    bus,
		Cache:        replica.DecisionCacheOptions{MaxEntries: f.cacheSize, MaxBytes: f.cacheBytes},
		OnEngineDown: down,
		Stats:        stats,
		Logger:       slog.Default(),
	})
}
