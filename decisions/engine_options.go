package decisions

import (
	"log/slog"
	"os"
	"strconv"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/policy"
)

// EngineOptions configures an Engine. Counter and Publisher are required.
type EngineOptions struct {
	// ID names the engine in its decisions; host-pid when empty.
	ID string
	// Counter holds the window counts. Engines that share a store share one
	// count, and an engine restart loses none of it. Engines serving
	// different replica groups each see all traffic, so they must not share
	// counters: give each group its own store or CounterPrefix.
	Counter counter.Store
	// Publisher carries decisions to the replicas.
	Publisher Publisher
	// KeyPrefix is the RLS's cache key prefix (ratelimit.Options.KeyPrefix):
	// decisions name keys as replicas do.
	KeyPrefix string
	// KeyEncoding is the RLS's (ratelimit.Options.KeyEncoding).
	KeyEncoding policy.KeyEncoding
	// CounterName names the counter store in health and logs (a URL
	// without its password); may be empty.
	CounterName string
	// CounterPrefix is prepended to the cache key to name the counter.
	CounterPrefix string
	// FlushInterval is how often hits are added to the counters; 20ms when
	// zero.
	FlushInterval time.Duration
	// MaxPendingKeys bounds the keys waiting for a flush; hits for further
	// keys are dropped and counted. 1<<20 when zero.
	MaxPendingKeys int
	// MaxPendingBytes bounds the memory those keys hold; hits for further
	// keys are dropped and counted. 256 MiB when zero.
	MaxPendingBytes int
	// MaxThrottledBytes bounds the memory of the throttles the engine keeps
	// until their window ends; over it others are forgotten and counted
	// (decisions.throttled_evicted). 256 MiB when zero.
	MaxThrottledBytes int
	// MaxDecisions bounds the Throttled decisions this engine keeps in
	// force (published, window not yet ended); further throttles are
	// refused and counted (decisions.refused_at_cap) while their hits are
	// still counted. 100 000 when zero.
	MaxDecisions int
	// LeaseShare is k in a lease's cap, remaining / (k × replicas holding
	// the key): grants shrink geometrically as a window runs out. 2 when
	// zero.
	LeaseShare int
	// LeaseAhead is how long before a window starts, by the counter store's
	// clock, its tokens may be granted (at most half a window): replicas
	// whose clocks run ahead, and replicas fetching the next window early,
	// get tokens. 1s when zero.
	LeaseAhead time.Duration
	// Timeout bounds one counter round trip and one publish; 2s when zero.
	Timeout time.Duration
	// Global connects the engine to the global tier, for limits of scope
	// global; nil: every limit is the datacenter's.
	Global *GlobalOptions

	Stats  stats.Scope      // the engine's stats go under "engine"; discarded when nil
	Logger *slog.Logger     // slog.Default() when nil
	Now    func() time.Time // time.Now when nil
}

func (o EngineOptions) withDefaults() EngineOptions {
	if o.ID == "" {
		o.ID = processID()
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 20 * time.Millisecond
	}
	if o.MaxPendingKeys <= 0 {
		o.MaxPendingKeys = 1 << 20
	}
	if o.MaxPendingBytes <= 0 {
		o.MaxPendingBytes = 256 << 20
	}
	if o.MaxThrottledBytes <= 0 {
		o.MaxThrottledBytes = 256 << 20
	}
	if o.MaxDecisions <= 0 {
		o.MaxDecisions = 100_000
	}
	if o.LeaseShare <= 0 {
		o.LeaseShare = 2
	}
	if o.LeaseAhead <= 0 {
		o.LeaseAhead = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	o.Stats = nullstats.Or(o.Stats)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// processID names this process where no ID is configured: host-pid.
func processID() string {
	host, _ := os.Hostname()
	return host + "-" + strconv.Itoa(os.Getpid())
}
