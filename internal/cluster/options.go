package cluster

import (
	"errors"
	"log/slog"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// Options describe a deployment. Only Snapshot is required; the zero value
// of every other field starts one engine and one replica over an in-memory
// bus, with each component's own defaults.
type Options struct {
	// Engines and Replicas are how many of each Start runs; 1 when zero.
	Engines, Replicas int
	// Snapshot is the policies every engine and replica serves.
	Snapshot *policy.Snapshot

	// Redis lists the decision brokers as Floodgate Redis URLs
	// (internal/redisconn). Every engine and every replica opens its own
	// clients and decision bus over them, as separate processes do, and the
	// engines count in the first. Empty: one in-memory bus and one
	// in-memory counter shared by every component, as in the all-in-one
	// binary.
	Redis []string
	// CounterPrefix is prepended to every counter key the engines write.
	CounterPrefix string
	// KeyEncoding is how every engine and replica names counters.
	KeyEncoding policy.KeyEncoding

	// Mode is how the replicas admit: leases (the default) or hit reports.
	// Leases keep windows by the counter store's clock, so a test that
	// steps Now over a window boundary runs in report mode.
	Mode   replica.Mode
	Leases replica.LeaseOptions
	// OnEngineDown is the replicas' answer while no engine can grant.
	OnEngineDown replica.OnEngineDown

	// FlushInterval is how often the engines count and publish;
	// ReportInterval is how long the replicas aggregate hits before they
	// stream them. Zero: the components' defaults.
	FlushInterval, ReportInterval time.Duration
	// Backoff paces the replicas' reconnects to the engines and the buses'
	// resubscriptions; zero: the components' defaults.
	Backoff backoff.Backoff
	// BusPingInterval and BusRefreshInterval tune every Redis bus (see
	// decisions.RedisBusOptions); zero: the bus's defaults. Tests shorten
	// them so that a Redis restart is noticed and refilled quickly.
	BusPingInterval, BusRefreshInterval time.Duration

	// Datacenter names the deployment's datacenter. With GlobalRedis (a
	// Redis URL) its engines lease the limits of scope global from that
	// global tier, tuned by Global (its Datacenter and Store are filled
	// in); both need Redis. Several clusters sharing one GlobalRedis are
	// several datacenters under one global limit.
	Datacenter  string
	GlobalRedis string
	Global      decisions.GlobalOptions

	// Now is every component's clock: engines, buses, replicas' services
	// and limiters. time.Now when nil; a Clock's Now lets a test step over
	// a window boundary.
	Now func() time.Time
	// ReadyTimeout bounds how long Start waits for every replica to reach
	// every engine and its bus; 10s when zero.
	ReadyTimeout time.Duration

	Stats  gostats.Scope // every component's stats, summed; discarded when nil
	Logger *slog.Logger  // slog.Default when nil
}

func (o Options) withDefaults() Options {
	if o.Engines <= 0 {
		o.Engines = 1
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	if o.Stats == nil {
		o.Stats = gostats.NewStore(gostats.NewNullSink(), false)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func (o Options) validate() error {
	if o.Snapshot == nil {
		return errors.New("cluster: no policy snapshot")
	}
	if o.GlobalRedis != "" && (len(o.Redis) == 0 || o.Datacenter == "") {
		return errors.New("cluster: a global tier needs Redis and a Datacenter name")
	}
	return nil
}
