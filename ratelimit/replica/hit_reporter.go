package replica

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	stats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/ratelimit"
)

// EnginePolicy chooses the engine of a group that gets a batch.
type EnginePolicy uint8

const (
	// LoadBalance sends each batch to one healthy engine of the group, in
	// turn; engines sharing a counter store share the count.
	LoadBalance EnginePolicy = iota
	// Failover sends every batch to the first healthy engine, in the
	// configured order.
	Failover
)

// ParseEnginePolicy reads "loadbalance" or "failover".
func ParseEnginePolicy(s string) (EnginePolicy, error) {
	switch strings.ToLower(s) {
	case "", "loadbalance":
		return LoadBalance, nil
	case "failover":
		return Failover, nil
	}
	return 0, fmt.Errorf("engine policy %q: want loadbalance or failover", s)
}

func (p EnginePolicy) String() string {
	if p == Failover {
		return "failover"
	}
	return "loadbalance"
}

// HitReporterOptions configures a HitReporter.
type HitReporterOptions struct {
	// Groups lists engine addresses (host:port), one slice per group. Every
	// batch goes to every group; within a group Policy picks the engine.
	Groups [][]string
	Policy EnginePolicy
	// ReplicaID names this replica in its batches; host-pid when empty.
	ReplicaID string
	// FlushInterval is how long hits aggregate before they are sent; 20ms
	// when zero.
	FlushInterval time.Duration
	// MaxKeys bounds the distinct keys held between flushes; hits of
	// further keys are dropped and counted. 65536 when zero.
	MaxKeys int
	// MaxBytes bounds the memory those keys hold between flushes, their
	// descriptors' entries included; hits of further keys are dropped and
	// counted. 64 MiB when zero.
	MaxBytes int
	// MaxBatchHits bounds the hits (distinct keys) of one batch message;
	// 4096 when zero.
	MaxBatchHits int
	// QueueLen is the batches that may wait for one engine stream; 16 when
	// zero.
	QueueLen int
	Backoff  backoff.Backoff
	// DialOptions replace the default (plaintext) gRPC dial options.
	DialOptions []grpc.DialOption

	Stats  stats.Scope  // "hit_reporter" stats go here; discarded when nil
	Logger *slog.Logger // slog.Default() when nil
}

func (o HitReporterOptions) withDefaults() HitReporterOptions {
	if o.ReplicaID == "" {
		host, _ := os.Hostname()
		o.ReplicaID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 20 * time.Millisecond
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = 65536
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.MaxBatchHits <= 0 {
		o.MaxBatchHits = 4096
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 16
	}
	o.Stats = nullstats.Or(o.Stats)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// reporterShards spreads Report over independently locked maps.
const reporterShards = 16

// HitReporter aggregates the hits of the request path per cache key and
// streams them to the throttle engines every flush interval. Report never
// blocks on the network.
type HitReporter struct {
	o      HitReporterOptions
	log    *slog.Logger
	seed   maphash.Seed
	shards [reporterShards]reportShard
	groups []*engineGroup
	seq    atomic.Uint64
	st     reporterStats

	lastWarn atomic.Int64 // unix nanos of the last overflow warning

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

type reportShard struct {
	mu    sync.Mutex
	m     map[string]*reportedHit
	spare map[string]*reportedHit
	bytes int // what m holds, by reportedBytes
	_     [16]byte
}

// reportedBytes is what a pending key holds: its key, its descriptor's
// entries (kept until the flush copies them) and the bookkeeping around
// them.
func reportedBytes(it *ratelimit.Item) int {
	n := len(it.Key) + len(it.Domain) + 160
	for _, e := range it.Entries {
		n += len(e.GetKey()) + len(e.GetValue()) + 48
	}
	return n
}

// reportedHit is one key's hits since the last flush. entries are the
// request's, kept read-only until the flush copies them into the batch.
type reportedHit struct {
	domain   string
	entries  []*ratelimitv3.RateLimitDescriptor_Entry
	hits     uint64
	unixTime int64
	override *enginepb.LimitOverride
}

type reporterStats struct {
	// reported and unreported count per group: a batch for two groups
	// counts twice.
	reported, overflow, unreported stats.Counter
	batches, sendErrors, reconnect stats.Counter
	connected                      stats.Gauge
}

// NewHitReporter starts the flush goroutine and one stream per engine; all
// run until Close.
func NewHitReporter(o HitReporterOptions) (*HitReporter, error) {
	if len(o.Groups) == 0 {
		return nil, errors.New("hit reporter: no engines")
	}
	o = o.withDefaults()
	sc := o.Stats.Scope("hit_reporter")
	r := &HitReporter{
		o:    o,
		log:  o.Logger.With("component", "hit-reporter"),
		seed: maphash.MakeSeed(),
		st: reporterStats{
			reported:   sc.NewCounter("hits_reported"),
			overflow:   sc.NewCounter("hits_overflow"),
			unreported: sc.NewCounter("hits_unreported"),
			batches:    sc.NewCounter("batches"),
			sendErrors: sc.NewCounter("send_errors"),
			reconnect:  sc.NewCounter("reconnects"),
			connected:  sc.NewGauge("engines_connected"),
		},
		done: make(chan struct{}),
	}
	for i := range r.shards {
		r.shards[i].m = make(map[string]*reportedHit)
		r.shards[i].spare = make(map[string]*reportedHit)
	}
	for gi, addrs := range o.Groups {
		if len(addrs) == 0 {
			r.closeGroups()
			return nil, fmt.Errorf("hit reporter: engine group %d is empty", gi)
		}
		g := &engineGroup{r: r, policy: o.Policy}
		for _, a := range addrs {
			c, err := newEngineConn(r, g, a)
			if err != nil {
				r.closeGroups()
				return nil, fmt.Errorf("hit reporter: engine %s: %w", a, err)
			}
			g.conns = append(g.conns, c)
		}
		r.groups = append(r.groups, g)
	}
	for _, g := range r.groups {
		for _, c := range g.conns {
			c.start()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(ctx)
	return r, nil
}

// Report adds the item's hits to its key's pending count.
func (r *HitReporter) Report(it *ratelimit.Item) {
	s := &r.shards[maphash.String(r.seed, it.Key)%reporterShards]
	s.mu.Lock()
	p := s.m[it.Key]
	if p == nil {
		cost := reportedBytes(it)
		if len(s.m) >= r.o.MaxKeys/reporterShards+1 || s.bytes+cost > r.o.MaxBytes/reporterShards {
			s.mu.Unlock()
			r.overflowed(it.Hits)
			return
		}
		s.bytes += cost
		p = &reportedHit{domain: it.Domain, entries: it.Entries, unixTime: it.WindowStart}
		if it.Override {
			p.override = &enginepb.LimitOverride{RequestsPerUnit: it.RequestsPerUnit, Unit: it.Unit.String()}
		}
		s.m[strings.Clone(it.Key)] = p // it.Key lives in a reused buffer
	}
	p.hits += it.Hits
	s.mu.Unlock()
}

func (r *HitReporter) overflowed(hits uint64) {
	r.st.overflow.Add(hits)
	now := time.Now().UnixNano()
	last := r.lastWarn.Load()
	if now-last >= int64(10*time.Second) && r.lastWarn.CompareAndSwap(last, now) {
		r.log.Warn("hit buffer full: dropping hits of new keys until the next flush",
			"max_keys", r.o.MaxKeys, "max_bytes", r.o.MaxBytes, "dropped_total", r.st.overflow.Value())
	}
}

func (r *HitReporter) run(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.o.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.flush()
			return
		case <-t.C:
			r.flush()
		}
	}
}

// flush turns the pending hits into batches and hands each to every group.
func (r *HitReporter) flush() {
	var hits []*enginepb.Hit
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		m := s.m
		s.m, s.spare, s.bytes = s.spare, nil, 0
		s.mu.Unlock()
		for _, p := range m {
			h := &enginepb.Hit{
				Domain:   p.domain,
				Entries:  make([]*enginepb.Entry, len(p.entries)),
				Hits:     p.hits,
				UnixTime: p.unixTime,
				Limit:    p.override,
			}
			for j, e := range p.entries {
				h.Entries[j] = &enginepb.Entry{Key: e.GetKey(), Value: e.GetValue()}
			}
			hits = append(hits, h)
		}
		clear(m)
		s.mu.Lock()
		s.spare = m
		s.mu.Unlock()
	}
	for len(hits) > 0 {
		n := min(len(hits), r.o.MaxBatchHits)
		b := &enginepb.HitBatch{ReplicaId: r.o.ReplicaID, Seq: r.seq.Add(1), Hits: hits[:n]}
		hits = hits[n:]
		for _, g := range r.groups {
			if !g.dispatch(b, nil) {
				r.st.unreported.Add(batchHits(b))
			}
		}
	}
}

func batchHits(b *enginepb.HitBatch) uint64 {
	var n uint64
	for _, h := range b.GetHits() {
		n += h.GetHits()
	}
	return n
}

// PendingBytes is the memory the keys waiting for the next flush hold, as
// the MaxBytes budget counts it.
func (r *HitReporter) PendingBytes() int {
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		n += s.bytes
		s.mu.Unlock()
	}
	return n
}

// Connected reports whether every group has a live engine stream.
func (r *HitReporter) Connected() bool {
	for _, g := range r.groups {
		if !g.connected() {
			return false
		}
	}
	return true
}

// EnginesConnected counts the live engine streams over all groups.
func (r *HitReporter) EnginesConnected() int {
	n := 0
	for _, g := range r.groups {
		for _, c := range g.conns {
			if c.healthy.Load() {
				n++
			}
		}
	}
	return n
}

// DroppedHits counts hits never handed to an engine: buffer overflow, no
// engine reachable, or a stream that broke under them.
func (r *HitReporter) DroppedHits() uint64 {
	return r.st.overflow.Value() + r.st.unreported.Value()
}

// Close flushes what is pending, then closes every engine stream.
func (r *HitReporter) Close() error {
	r.once.Do(func() {
		r.cancel()
		<-r.done
		r.closeGroups()
	})
	return nil
}

func (r *HitReporter) closeGroups() {
	for _, g := range r.groups {
		for _, c := range g.conns {
			c.close()
		}
	}
}
