package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/redisconn"
)

// datacenterFlag is --datacenter, on every role: the datacenter the
// process runs in. Engines name their datacenter's leases in the global
// tier with it; every role logs it.
type datacenterFlag struct{ name string }

func (f *datacenterFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "datacenter", "", "`name` of the datacenter this process runs in: engines with --global-redis lease the global limits under it; every role logs it")
}

// install adds the datacenter to every log line.
func (f *datacenterFlag) install() {
	if f.name != "" {
		slog.SetDefault(slog.Default().With("datacenter", f.name))
	}
}

// globalFlags connect an engine to the global tier.
type globalFlags struct {
	redis    string
	interval time.Duration
	horizon  time.Duration
}

func (f *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.redis, "global-redis", "", "Redis `URL` of the global tier: limits with scope: global are leased from it to this datacenter (--datacenter), in the background; the datacenter's counters must be in Redis")
	fs.DurationVar(&f.interval, "global-interval", 50*time.Millisecond, "how often the engine tops up its datacenter's global leases, hands back idle ones and settles what it spent (one batch per round)")
	fs.DurationVar(&f.horizon, "global-horizon", 500*time.Millisecond, "how much of the datacenter's recent rate of a global key it holds ahead: longer than a WAN round trip")
}

// open returns the engine's global tier options for datacenter and a func
// closing its client; nil options without --global-redis.
func (f *globalFlags) open(datacenter string) (*decisions.GlobalOptions, func(), error) {
	if f.redis == "" {
		return nil, func() {}, nil
	}
	if datacenter == "" {
		return nil, nil, errors.New("--global-redis needs --datacenter: the global tier leases to datacenters by name")
	}
	client, err := redisconn.New(f.redis)
	if err != nil {
		return nil, nil, fmt.Errorf("--global-redis: %w", err)
	}
	name := counter.Location{RedisURL: f.redis}.Name()
	return &decisions.GlobalOptions{Datacenter: datacenter, Store: counter.NewRedis(client, ""), Name: name,
		Interval: f.interval, Horizon: f.horizon}, func() { _ = client.Close() }, nil
}
