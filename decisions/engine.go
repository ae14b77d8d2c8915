package decisions

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	stats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/policy"
)

// Engine is the throttle engine: it implements ThrottleEngine, counts the
// hits replicas stream to it, and publishes a Throttled decision when a key
// crosses its limit and a Released one when that key's window ends.
type Engine struct {
	enginepb.UnimplementedThrottleEngineServer

	o        EngineOptions
	keys     policy.KeyFormat // overrides apart: decisions are shared
	log      *slog.Logger
	now      func() time.Time
	snapshot atomic.Pointer[policy.Snapshot]
	seq      atomic.Uint64
	st       engineStats

	mu      sync.Mutex
	pending map[string]*pendingHit
	spare   map[string]*pendingHit
	// pendingBytes is what pending holds (MaxPendingBytes).
	pendingBytes int
	// flushingKeys and flushingHits are what the flush running took from
	// pending, for a stop cut at its deadline to say what it may lose.
	flushingKeys int
	flushingHits uint64

	flushMu   sync.Mutex // serialises flushes; guards what follows
	throttled map[string]Decision
	// throttledBytes is what throttled holds (MaxThrottledBytes).
	throttledBytes int
	// release holds every throttle published and not yet at its window
	// end, by window end: the releases of a flush touch only those due,
	// and its length is the decisions in force MaxDecisions bounds.
	release expiryQueue
	warned  atomic.Int64 // Unix nanoseconds of the last warning; Ingest warns too

	// granter debits leases; nil when the counter store cannot (memcached).
	granter counter.Granter
	// global leases global keys from the global tier; nil without one.
	global  *globalTier
	holders *holderTable
	// store is the counter store behind its breaker (nil for the
	// in-process store, which has no outages); stopBreaker ends the
	// breaker this engine made.
	store       counter.Store
	breaker     *counter.Breaker
	stopBreaker func()
	// exhausted are the keys whose window grants used up, to publish as
	// throttled with the next flush. Guarded by mu.
	exhausted []Decision

	cancel context.CancelFunc
	done   chan struct{}
	// lastFlushCtx bounds the last flush; set by CloseContext before
	// cancel, read by run after it.
	lastFlushCtx context.Context
	closeOnce    sync.Once

	streamsEnd    chan struct{} // closed by EndStreams
	endStreamsOne sync.Once
}

// pendingHit is one key's hits since the last flush.
type pendingHit struct {
	domain    string
	hits      uint64
	limit     uint32
	windowEnd int64
	expiry    time.Duration
}

type engineStats struct {
	batches, hits, unmatched, stale, dropped stats.Counter
	flushes, counterErrors, publishErrors    stats.Counter
	clamped, counterKeyErrors                stats.Counter
	throttled, released                      stats.Counter
	throttledEvicted                         stats.Counter
	refusedAtCap, releaseChecked             stats.Counter
	inForce                                  stats.Gauge
	streams                                  stats.Gauge

	leaseGrants, leaseGranted, leaseCharged, leaseReturned  stats.Counter
	leaseUsed, leaseUnmatched, leaseStale, leaseUnavailable stats.Counter
	leaseStreams                                            stats.Gauge
}

// NewEngine starts an engine; its flush goroutine runs until Close.
func NewEngine(o EngineOptions) (*Engine, error) {
	if o.Counter == nil || o.Publisher == nil {
		return nil, errors.New("engine: Counter and Publisher are required")
	}
	o = o.withDefaults()
	sc := o.Stats.Scope("engine")
	e := &Engine{
		o:    o,
		keys: policy.KeyFormat{Prefix: o.KeyPrefix, Encoding: o.KeyEncoding, SeparateOverrides: true},
		log:  o.Logger.With("component", "engine", "engine", o.ID),
		now:  o.Now,
		st: engineStats{
			batches:          sc.NewCounter("batches"),
			hits:             sc.NewCounter("hits"),
			unmatched:        sc.NewCounter("hits_unmatched"),
			stale:            sc.NewCounter("hits_stale"),
			dropped:          sc.NewCounter("hits_dropped"),
			flushes:          sc.NewCounter("flushes"),
			counterErrors:    sc.NewCounter("counter_errors"),
			counterKeyErrors: sc.NewCounter("counter_key_errors"),
			clamped:          sc.NewCounter("hits_clamped"),
			publishErrors:    sc.NewCounter("publish_errors"),
			throttled:        sc.NewCounter("decisions.throttled"),
			released:         sc.NewCounter("decisions.released"),
			throttledEvicted: sc.NewCounter("decisions.throttled_evicted"),
			streams:          sc.NewGauge("streams"),
			refusedAtCap:     sc.NewCounter("decisions.refused_at_cap"),
			releaseChecked:   sc.NewCounter("decisions.release_checked"),
			inForce:          sc.NewGauge("decisions.in_force"),

			leaseGrants:      sc.NewCounter("lease.grants"),
			leaseGranted:     sc.NewCounter("lease.tokens_granted"),
			leaseCharged:     sc.NewCounter("lease.tokens_overdrawn"),
			leaseReturned:    sc.NewCounter("lease.tokens_returned"),
			leaseUsed:        sc.NewCounter("lease.tokens_used"),
			leaseUnmatched:   sc.NewCounter("lease.unmatched"),
			leaseStale:       sc.NewCounter("lease.stale"),
			leaseUnavailable: sc.NewCounter("lease.unavailable"),
			leaseStreams:     sc.NewGauge("lease.streams"),
		},
		holders:   newHolderTable(o.MaxPendingKeys),
		pending:   make(map[string]*pendingHit),
		spare:     make(map[string]*pendingHit),
		throttled: make(map[string]Decision),
		done:      make(chan struct{}),

		streamsEnd: make(chan struct{}),
	}
	e.store = o.Counter
	e.granter, _ = o.Counter.(counter.Granter)
	e.guardCounter(sc)
	// Sequence numbers start from the clock so that a restarted engine's
	// decisions still order after its earlier ones.
	e.seq.Store(uint64(time.Now().UnixNano()))
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if err := e.startGlobal(ctx); err != nil {
		cancel()
		e.stopBreaker()
		return nil, err
	}
	go e.run(ctx)
	return e, nil
}

// ID is the engine's id as it appears in decisions.
func (e *Engine) ID() string { return e.o.ID }

// SetSnapshot swaps the policies hits are matched against.
func (e *Engine) SetSnapshot(s *policy.Snapshot) { e.snapshot.Store(s) }

// Register serves ThrottleEngine on s.
func (e *Engine) Register(s *grpc.Server) { enginepb.RegisterThrottleEngineServer(s, e) }

// Close stops the flush goroutine after one last flush.
func (e *Engine) Close() error { return e.CloseContext(context.Background()) }

// CloseContext is Close with the last flush bounded by ctx as well as by
// Timeout: a stopping role's deadline.
func (e *Engine) CloseContext(ctx context.Context) error {
	e.closeOnce.Do(func() {
		e.lastFlushCtx = ctx
		e.cancel()
	})
	select {
	case <-e.done:
	case <-ctx.Done():
		// A store that hangs holds a flush past any context (its client
		// reads with timeouts of its own): say what is at stake.
		keys, hits := e.pendingHits()
		e.log.Warn("engine stopping: flush still running at the deadline; hits not yet counted may be lost", "keys", keys, "hits", hits)
		<-e.done
	}
	if e.global != nil {
		<-e.global.done
	}
	e.stopBreaker() // after the last flush, which goes through it
	return nil
}

// pendingHits counts the keys and hits not yet in the counters: waiting
// for a flush or in the flush running.
func (e *Engine) pendingHits() (keys int, hits uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pending) + e.flushingKeys, sumHits(e.pending) + e.flushingHits
}

func sumHits(m map[string]*pendingHit) uint64 {
	var n uint64
	for _, p := range m {
		n += p.hits
	}
	return n
}

// Ingest matches a batch's hits against the engine's policies and adds them
// to the pending counts; it returns how many hits it accepted.
func (e *Engine) Ingest(b *enginepb.HitBatch) uint64 {
	e.st.batches.Inc()
	snap := e.snapshot.Load()
	nowUnix := e.now().Unix()
	var buf [256]byte
	var accepted, unmatched, stale, dropped, total, clamped uint64
	e.mu.Lock()
	for _, h := range b.GetHits() {
		// A replica may be older than the cap, or forged: capped here too,
		// before one key's hits can overflow its counter.
		n, capped := policy.ClampHits(h.GetHits())
		if capped {
			clamped++
		}
		total = policy.AddHits(total, n)
		domain, entries := h.GetDomain(), h.GetEntries()
		res := policy.Resolve(snap, domain, entries, overrideOf(h.GetLimit()), h.GetUnixTime())
		if !res.Counted() {
			unmatched += n
			continue
		}
		end := res.WindowEnd()
		if res.Algorithm == policy.TokenBucket {
			// Admitting first and reporting after cannot shape a burst:
			// a bucket is counted as a fixed window of its unit under its
			// one key, so that its rate still holds.
			end = policy.WindowStartOf(res.Unit, res.UnitMultiplier, h.GetUnixTime()) + res.WindowSeconds()
		}
		if end <= nowUnix {
			stale += n
			continue
		}
		key := policy.AppendKey(buf[:0], e.keys, domain, entries, &res)
		p := e.pending[string(key)]
		if p == nil {
			if !e.reservePending(pendingBytes(string(key), domain)) {
				dropped += n
				continue
			}
			p = &pendingHit{domain: domain, limit: res.RequestsPerUnit, windowEnd: end,
				expiry: time.Duration(res.WindowSeconds()) * time.Second}
			e.pending[string(key)] = p
		}
		p.hits = policy.AddHits(p.hits, n)
		accepted = policy.AddHits(accepted, n)
	}
	e.mu.Unlock()
	if clamped > 0 {
		e.st.clamped.Add(clamped)
		e.warn("hits above the per-descriptor maximum capped", "hits", clamped, "max", uint64(policy.MaxHits))
	}
	e.st.hits.Add(total)
	e.st.unmatched.Add(unmatched)
	e.st.stale.Add(stale)
	e.st.dropped.Add(dropped)
	return accepted
}

// overrideOf reads a descriptor's own limit off the wire; nil when it has
// none. An unknown unit reads as UnitUnknown: Resolve then ignores the
// override and the rule applies.
func overrideOf(ol *enginepb.LimitOverride) *policy.Override {
	if ol == nil {
		return nil
	}
	u, _ := policy.ParseUnit(ol.GetUnit())
	return &policy.Override{RequestsPerUnit: ol.GetRequestsPerUnit(), Unit: u, UnitMultiplier: ol.GetUnitMultiplier()}
}

func (e *Engine) run(ctx context.Context) {
	defer close(e.done)
	t := time.NewTicker(e.o.FlushInterval)
	defer t.Stop()
	prune := time.NewTicker(holderTTL)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			e.lastFlush()
			return
		case <-t.C:
			e.flush(ctx)
		case <-prune.C:
			e.holders.prune(e.now().UnixNano())
		}
	}
}

// lastFlush flushes once more, so a clean shutdown loses no hits, and
// says what it carried to the counters.
func (e *Engine) lastFlush() {
	keys, hits := e.pendingHits()
	published := e.st.throttled.Value()
	failed := e.st.counterErrors.Value() + e.st.publishErrors.Value()
	ctx := cmp.Or(e.lastFlushCtx, context.Background())
	fctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	defer cancel()
	e.flush(fctx)
	if e.st.counterErrors.Value()+e.st.publishErrors.Value() > failed {
		e.log.Warn("engine stopping: last flush failed, cut at the deadline or by the store", "keys", keys, "hits", hits, "err", fctx.Err())
		return
	}
	e.log.Info("engine stopping: pending hits flushed to the counters", "keys", keys, "hits", hits,
		"decisions_published", e.st.throttled.Value()-published)
}

// Flush adds the pending hits to the counters now and publishes what
// follows. The engine flushes by itself every FlushInterval; Flush is for
// tests and shutdown paths that cannot wait.
func (e *Engine) Flush(ctx context.Context) { e.flush(ctx) }

func (e *Engine) flush(ctx context.Context) {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	e.mu.Lock()
	batch := e.pending
	e.pending, e.spare, e.pendingBytes = e.spare, nil, 0
	e.flushingKeys, e.flushingHits = len(batch), sumHits(batch)
	exhausted := e.exhausted
	e.exhausted = nil
	e.mu.Unlock()

	var ds []Decision
	if len(batch) > 0 {
		ds = e.count(ctx, batch)
	}
	ds = e.newThrottles(ds, exhausted)
	ds = e.withinCap(ds)
	ds = e.releases(ds)
	if len(ds) > 0 {
		e.publish(ctx, ds)
	}
	clear(batch)
	e.mu.Lock()
	e.spare = batch
	e.flushingKeys, e.flushingHits = 0, 0
	e.mu.Unlock()
}

// count adds batch to the counters and returns the Throttled decisions of
// keys that crossed their limit.
func (e *Engine) count(ctx context.Context, batch map[string]*pendingHit) []Decision {
	e.st.flushes.Inc()
	keys := make([]string, 0, len(batch))
	incs := make([]counter.Increment, 0, len(batch))
	for k, p := range batch {
		keys = append(keys, k)
		incs = append(incs, counter.Increment{Key: e.o.CounterPrefix + k, Hits: p.hits, Expiry: p.expiry})
	}
	counts := make([]uint64, len(incs))
	actx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	err := e.store.Add(actx, incs, counts)
	cancel()
	var keyErrs *counter.KeyErrors
	if err != nil && !errors.As(err, &keyErrs) {
		e.st.counterErrors.Inc()
		e.warn("add hits to counters; keeping them for the next flush", "keys", len(incs), "err", err)
		e.requeue(batch)
		return nil
	}
	if keyErrs != nil {
		// Only the keys that failed wait for the next flush: the others
		// were counted, and are decided now.
		e.requeue(e.failedKeys(batch, keys, err))
	}
	var ds []Decision
	for i, k := range keys {
		p := batch[k]
		if counter.KeyErr(err, i) != nil {
			continue
		}
		if counts[i] <= uint64(p.limit) {
			continue
		}
		if _, ok := e.throttled[k]; ok {
			continue
		}
		ds = append(ds, Decision{
			Domain: p.domain, Key: k, State: Throttled, WindowEnd: p.windowEnd,
			Limit: p.limit, Count: counts[i], Engine: e.o.ID, Seq: e.seq.Add(1),
		})
	}
	return ds
}

// failedKeys takes out of batch the keys whose increment failed in err (a
// counter.KeyErrors), counting and logging them, and returns them.
func (e *Engine) failedKeys(batch map[string]*pendingHit, keys []string, err error) map[string]*pendingHit {
	failed := make(map[string]*pendingHit)
	var first error
	for i, k := range keys {
		if kerr := counter.KeyErr(err, i); kerr != nil {
			failed[k] = batch[k]
			first = cmp.Or(first, kerr)
		}
	}
	e.st.counterKeyErrors.Add(uint64(len(failed)))
	e.warn("add hits to counters: some keys failed, keeping only them for the next flush",
		"failed", len(failed), "keys", len(keys), "first", first)
	return failed
}

// requeue puts back hits a failed flush could not count, unless their
// window has ended meanwhile.
func (e *Engine) requeue(batch map[string]*pendingHit) {
	nowUnix := e.now().Unix()
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, p := range batch {
		if p.windowEnd <= nowUnix {
			e.st.stale.Add(p.hits)
			continue
		}
		if q := e.pending[k]; q != nil {
			q.hits = policy.AddHits(q.hits, p.hits)
			continue
		}
		if !e.reservePending(pendingBytes(k, p.domain)) {
			e.st.dropped.Add(p.hits)
			continue
		}
		cp := *p
		e.pending[k] = &cp
	}
}

func (e *Engine) publish(ctx context.Context, ds []Decision) {
	pctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	err := e.o.Publisher.Publish(pctx, ds)
	cancel()
	if err != nil {
		// A throttle stays unrecorded so the key's next hits publish it
		// again; a lost release is harmless, the decision expires anyway.
		e.st.publishErrors.Inc()
		e.warn("publish decisions", "decisions", len(ds), "err", err)
	}
	for _, d := range ds {
		switch d.State {
		case Throttled:
			e.st.throttled.Inc()
			if err != nil {
				continue
			}
			e.recordThrottle(d)
			e.release.push(d.Key, d.WindowEnd)
			e.st.inForce.Set(uint64(e.release.len()))
		case Released:
			e.st.released.Inc()
		}
	}
}

// warn logs at most once a second: a down Redis fails every flush, a
// hostile replica may send absurd hits in every batch.
func (e *Engine) warn(msg string, args ...any) {
	now, last := time.Now().UnixNano(), e.warned.Load()
	if now-last >= int64(time.Second) && e.warned.CompareAndSwap(last, now) {
		e.log.Warn(msg, args...)
	}
}
