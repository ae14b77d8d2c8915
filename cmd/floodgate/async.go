package main

import (
	"flag"
	"log/slog"

	"fmt"
	"net/url"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/redisconn"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// brokers are the Redis endpoints decisions travel over: independent
// deployments (a pair, say); publishers write to all, subscribers read one.
type brokers struct {
	clients []redis.UniversalClient
	names   []string
	bus     *decisions.RedisBus
}

// openBrokers connects to every URL and opens the decision bus over them;
// close releases both.
func openBrokers(urls []string, stats gostats.Scope, log *slog.Logger) (*brokers, error) {
	b := &brokers{}
	for _, u := range urls {
		c, err := redisconn.New(u)
		if err != nil {
			b.close()
			return nil, fmt.Errorf("--redis: %w", err)
		}
		b.clients = append(b.clients, c)
		b.names = append(b.names, redactURL(u))
	}
	bus, err := decisions.NewRedisBus(decisions.RedisBusOptions{Endpoints: b.clients, Names: b.names, Stats: stats, Logger: log})
	if err != nil {
		b.close()
		return nil, err
	}
	b.bus = bus
	return b, nil
}

// close stops the bus, then drops the connections it ran over.
func (b *brokers) close() {
	if b.bus != nil {
		b.bus.Close()
	}
	for _, c := range b.clients {
		c.Close()
	}
}

// redactURL names an endpoint in logs and health without its password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "redis"
	}
	return u.Redacted()
}

// asyncFlags configure an RLS replica's async limiter.
type asyncFlags struct {
	engines      listFlag
	policy       string
	onEngineDown string
	cacheSize    int
	report       time.Duration
}

func (f *asyncFlags) register(fs *flag.FlagSet, withEngines bool) {
	if withEngines {
		fs.Var(&f.engines, "engine", "throttle engine `ADDR[,ADDR]` of one group; repeat the flag for more groups (every group sees every hit)")
		fs.StringVar(&f.policy, "engine-policy", "loadbalance", "how a group picks its engine: loadbalance (round robin over healthy engines) or failover (first healthy)")
	}
	fs.StringVar(&f.onEngineDown, "on-engine-down", "allow", "answer while no engine is reachable: allow (from what the replica knows) or deny")
	fs.IntVar(&f.cacheSize, "decision-cache-size", 1<<20, "most keys the local decision cache holds")
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
// engine groups and following bus, with the health it reports.
func (f *asyncFlags) limiter(groups [][]string, bus decisions.Subscriber, stats gostats.Scope) (*replica.Limiter, ratelimit.Health, error) {
	pol, err := replica.ParseEnginePolicy(f.policy)
	if err != nil {
		return nil, nil, fmt.Errorf("--engine-policy: %w", err)
	}
	down, err := replica.ParseOnEngineDown(f.onEngineDown)
	if err != nil {
		return nil, nil, fmt.Errorf("--on-engine-down: %w", err)
	}
	lim, err := replica.NewLimiter(replica.Options{
		Engines:      replica.HitReporterOptions{Groups: groups, Policy: pol, FlushInterval: f.report},
		Decisions:    bus,
		Cache:        replica.DecisionCacheOptions{MaxEntries: f.cacheSize},
		OnEngineDown: down,
		Stats:        stats,
		Logger:       slog.Default(),
	})
	if err != nil {
		return nil, nil, err
	}
	return lim, asyncHealth(lim, down == replica.EngineDownDeny), nil
}

// asyncHealth reports a replica healthy while it can answer as configured:
// always when it fails open, only with an engine when it fails closed.
func asyncHealth(l *replica.Limiter, deny bool) ratelimit.Health {
	return func() (bool, map[string]any) {
		h := l.Health()
		detail := map[string]any{
			"engine_connected":  h.EngineConnected,
			"engines_connected": h.EnginesConnected,
			"bus_connected":     h.BusConnected,
			"dropped_hits":      h.DroppedHits,
			"cache_entries":     h.CacheEntries,
		}
		return h.EngineConnected || !deny, detail
	}
}
