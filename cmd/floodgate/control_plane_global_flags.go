package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/globallink"
	"github.com/floodgate/floodgate/internal/redisconn"
	"github.com/floodgate/floodgate/xds/controlplane"
)

// controlPlaneGlobalFlags point the control plane at the global tier, whose
// Redis holds every datacenter's engines' reports of their link: the
// fleet's view of the datacenters on /v1/status, /metrics and /ui/.
type controlPlaneGlobalFlags struct {
	redis      string
	staleAfter time.Duration
}

func (f *controlPlaneGlobalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.redis, "global-redis", "", "Redis `URL` of the global tier: /v1/status, /metrics and the dashboard show each datacenter's link to it and its leases, as the engines report them")
	fs.DurationVar(&f.staleAfter, "global-stale-after", globallink.DefaultStaleAfter,
		"how old a datacenter's newest report may be before its link reads stale (engines report once a second)")
}

// apply sets o.Datacenters to read the global tier, and returns a func
// closing its client; nothing without --global-redis.
func (f *controlPlaneGlobalFlags) apply(o *controlplane.ServerOptions) (func(), error) {
	if f.redis == "" {
		return func() {}, nil
	}
	if f.staleAfter <= 0 {
		return nil, fmt.Errorf("--global-stale-after: must be positive")
	}
	client, err := redisconn.New(f.redis)
	if err != nil {
		return nil, fmt.Errorf("--global-redis: %w", err)
	}
	store, stale := counter.NewRedis(client, ""), f.staleAfter
	o.Datacenters = func(ctx context.Context) ([]globallink.Datacenter, error) {
		return globallink.Read(ctx, store, time.Now(), stale)
	}
	return func() { _ = client.Close() }, nil
}
