package replica

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// OnEngineDown is what the async limiter answers while no engine is
// connected.
type OnEngineDown uint8

const (
	// EngineDownShare spends the tokens held, then admits per window this
	// replica's share of what remained at the last grant (of the limit, for
	// a key never granted): the fleet stays within the limit. In report
	// mode it is EngineDownAllow.
	EngineDownShare OnEngineDown = iota
	// EngineDownAllow answers from what the replica knows: decisions still
	// in force and its own counts up to the limit (fail-open).
	EngineDownAllow
	// EngineDownDeny answers over the limit once the tokens held are spent.
	EngineDownDeny
)

// ParseOnEngineDown reads "share", "allow" or "deny".
func ParseOnEngineDown(s string) (OnEngineDown, error) {
	switch strings.ToLower(s) {
	case "", "share":
		return EngineDownShare, nil
	case "allow":
		return EngineDownAllow, nil
	case "deny":
		return EngineDownDeny, nil
	}
	return 0, fmt.Errorf("on engine down %q: want share, allow or deny", s)
}

// Options configures an Limiter.
type Options struct {
	// Mode is leases (the default) or hit reports.
	Mode Mode
	// Engines configures the streams to the throttle engines. In lease
	// mode there is one group; FlushInterval is how long asks wait to be
	// batched when no request waits on them.
	Engines HitReporterOptions
	Leases  LeaseOptions
	// Decisions delivers the engines' decisions (a decisions.RedisBus or
	// MemoryBus). The limiter subscribes until Close.
	Decisions    decisions.Subscriber
	Cache        DecisionCacheOptions
	OnEngineDown OnEngineDown

	// SweepInterval is how often expired cache entries are dropped; 1s when
	// zero.
	SweepInterval time.Duration
	Stats         stats.Scope      // the limiter's parts put their stats under it; discarded when nil
	Logger        *slog.Logger     // slog.Default() when nil
	Now           func() time.Time // time.Now when nil
}

func (o Options) withDefaults() Options {
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Second
	}
	o.Stats = nullstats.Or(o.Stats)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// The parts report under the limiter's scope and logger unless given
	// their own.
	if o.Engines.Stats == nil {
		o.Engines.Stats = o.Stats
	}
	if o.Engines.Logger == nil {
		o.Engines.Logger = o.Logger
	}
	if o.Cache.Stats == nil {
		o.Cache.Stats = o.Stats
	}
	o.Leases = o.Leases.withDefaults()
	o.Engines = o.Engines.withDefaults()
	return o
}

// Limiter answers from the local decision cache and reports every hit
// to the throttle engines; nothing on the request path waits on the
// network. Its count for a key is the engine's count at its last decision
// plus the hits this replica took since, so a replica enforces a limit on
// its own traffic even before (or without) a decision.
type Limiter struct {
	cache    *DecisionCache
	reporter *HitReporter // report mode

	// Lease mode.
	leases    *leaseTable
	lc        *leaseClient
	leaseOpts LeaseOptions
	epoch     atomic.Int64 // sweeps so far: a lease's idleness

	sub    decisions.Subscriber
	down   OnEngineDown
	now    func() time.Time
	log    *slog.Logger
	denied stats.Counter

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// NewLimiter connects to the engines and subscribes to decisions; both
// run in the background, reconnecting by themselves, until Close.
func NewLimiter(o Options) (*Limiter, error) {
	if o.Decisions == nil {
		return nil, fmt.Errorf("async limiter: no decision subscriber")
	}
	o = o.withDefaults()
	l := &Limiter{
		cache:  NewDecisionCache(o.Cache),
		sub:    o.Decisions,
		down:   o.OnEngineDown,
		now:    o.Now,
		log:    o.Logger.With("component", "async-limiter"),
		denied: o.Stats.Scope("async_limiter").NewCounter("engine_down_denied"),
	}
	var err error
	if o.Mode == ModeLease {
		l.leaseOpts = o.Leases
		l.leases = newLeaseTable(o.Leases.MaxLeases, o.Leases.MaxBytes)
		l.lc, err = newLeaseClient(o, l.leases)
	} else {
		l.reporter, err = NewHitReporter(o.Engines)
	}
	if err != nil {
		return nil, fmt.Errorf("async limiter: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		_ = l.sub.Subscribe(ctx, func(d decisions.Decision) { l.cache.Apply(d, l.now().Unix()) })
	}()
	go func() {
		defer l.wg.Done()
		l.sweep(ctx, o.SweepInterval)
	}()
	return l, nil
}

func (l *Limiter) sweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.cache.Sweep(l.now().Unix())
			if l.lc != nil {
				l.sweepLeases()
			}
		}
	}
}

// Limit sets each item's count: from the leases, or from the cache while
// it reports the hits.
func (l *Limiter) Limit(ctx context.Context, items []*ratelimit.Item) error {
	if l.lc != nil {
		return l.limitLeases(ctx, items)
	}
	nowUnix := l.now().Unix()
	deny := l.down == EngineDownDeny && !l.reporter.Connected()
	for _, it := range items {
		r := l.cache.Hit(it.Key, it.WindowStart+it.WindowSeconds(), it.Hits, nowUnix)
		it.Count = policy.AddHits(policy.AddHits(r.EngineCount, r.Local), it.Hits)
		over := uint64(it.RequestsPerUnit) + 1
		if r.Throttled && it.Count < over {
			it.Count = over
		}
		if deny && it.Count < over {
			it.Count = over
			l.denied.Add(it.Hits)
		}
		l.reporter.Report(it)
	}
	return nil
}

// Cache is the limiter's decision cache.
func (l *Limiter) Cache() *DecisionCache { return l.cache }

// Health is the async limiter's view of its dependencies.
type Health struct {
	EngineConnected  bool   `json:"engine_connected"`  // every engine group has an engine taking hits
	EnginesConnected int    `json:"engines_connected"` // live engine streams, all groups
	BusConnected     bool   `json:"bus_connected"`     // the decision subscription is live
	DroppedHits      uint64 `json:"dropped_hits"`      // hits no engine acknowledged
	CacheEntries     int    `json:"cache_entries"`
	Mode             string `json:"mode"`
	Leases           int    `json:"leases,omitempty"`
}

// Health reports the state of the engine streams and the decision bus. The
// limiter answers either way; a down dependency degrades it to local counts.
func (l *Limiter) Health() Health {
	if l.lc != nil {
		return Health{
			EngineConnected:  l.lc.connected(),
			EnginesConnected: l.lc.enginesConnected(),
			BusConnected:     l.sub.Connected(),
			CacheEntries:     l.cache.Len(),
			Mode:             ModeLease.String(),
			Leases:           l.leases.Len(),
		}
	}
	return Health{
		Mode:             ModeReport.String(),
		EngineConnected:  l.reporter.Connected(),
		EnginesConnected: l.reporter.EnginesConnected(),
		BusConnected:     l.sub.Connected(),
		DroppedHits:      l.reporter.DroppedHits(),
		CacheEntries:     l.cache.Len(),
	}
}

// Close stops the subscription, flushes the pending hits and closes the
// engine streams. Limit after Close still answers from the cache and the
// replica's own counts, but reports its hits to no engine.
func (l *Limiter) Close() error { return l.CloseContext(context.Background()) }

// CloseContext is Close with the return of tokens held bounded by ctx as
// well: a stopping role's deadline. It logs what went back to the engines.
func (l *Limiter) CloseContext(ctx context.Context) error {
	l.once.Do(func() {
		l.cancel()
		l.wg.Wait()
		if l.lc != nil {
			returned := l.lc.st.returned.Value()
			l.returnAll(ctx)
			l.lc.close()
			l.log.Info("replica stopping: tokens held returned to the engines", "tokens", l.lc.st.returned.Value()-returned)
			return
		}
		acked, dropped := l.reporter.AckedHits(), l.reporter.DroppedHits()
		_ = l.reporter.Close()
		l.log.Info("replica stopping: pending hits flushed to the engines",
			"hits_acked", l.reporter.AckedHits()-acked, "hits_dropped", l.reporter.DroppedHits()-dropped)
	})
	return nil
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// SharesDecisions reports that every caller of a key is answered from the
// engines' one decision for it (ratelimit.SharedLimiter).
func (l *Limiter) SharesDecisions() bool { return true }
