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
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/policy"
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
	// MaxBatchBytes bounds the encoded size of one batch message; a batch
	// over the engine's receive limit would break the stream and lose every
	// hit in it. decisions.MaxHitBatchBytes (the engine's limit) when zero or
	// above it. A single hit larger than this is dropped and counted.
	MaxBatchBytes int
	// QueueLen is the batches that may wait for one engine stream; 16 when
	// zero.
	QueueLen int
	// MaxUnacked bounds the batches one stream has sent and the engine has
	// not acknowledged yet; a stream at the bound sends nothing more until
	// acks arrive, and counts as not taking hits. 64 when zero.
	MaxUnacked int
	// Backoff is the wait between attempts to open an engine stream; at
	// most 250ms when zero, so that a replica takes hits again within half a
	// second of an engine's return.
	Backoff backoff.Backoff
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
	if o.MaxBatchBytes <= 0 || o.MaxBatchBytes > decisions.MaxHitBatchBytes {
		o.MaxBatchBytes = decisions.MaxHitBatchBytes
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 16
	}
	if o.MaxUnacked <= 0 {
		o.MaxUnacked = 64
	}
	if o.Backoff == (backoff.Backoff{}) {
		o.Backoff = engineBackoff
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
	// reported, unreported and unacked count per group: a batch for two
	// groups counts twice. reported counts hits an engine acknowledged;
	// unacked those sent on a stream that broke before their ack.
	reported, overflow, unreported stats.Counter
	unacked, oversize              stats.Counter
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
			unacked:    sc.NewCounter("hits_unacknowledged"),
			oversize:   sc.NewCounter("hits_oversize"),
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
		p = &reportedHit{domain: it.Domain, entries: it.Entries, unixTime: it.WindowStart, override: wireOverride(it)}
		s.m[strings.Clone(it.Key)] = p // it.Key lives in a reused buffer
	}
	p.hits = policy.AddHits(p.hits, it.Hits) // saturating: a count never goes backwards
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
				Entries:  wireEntries(p.entries),
				Hits:     p.hits,
				UnixTime: p.unixTime,
				Limit:    p.override,
			}
			hits = append(hits, h)
		}
		clear(m)
		s.mu.Lock()
		s.spare = m
		s.mu.Unlock()
	}
	r.send(hits)
}

// send cuts hits into batches of at most MaxBatchHits hits and
// MaxBatchBytes encoded bytes, and hands each to every group.
func (r *HitReporter) send(hits []*enginepb.Hit) {
	// What a batch costs before its hits: its replica id and seq fields.
	base := protowire.SizeTag(1) + protowire.SizeBytes(len(r.o.ReplicaID)) +
		protowire.SizeTag(2) + protowire.SizeVarint(^uint64(0))
	var batch []*enginepb.Hit
	size := base
	dispatch := func() {
		if len(batch) == 0 {
			return
		}
		b := &enginepb.HitBatch{ReplicaId: r.o.ReplicaID, Seq: r.seq.Add(1), Hits: batch}
		for _, g := range r.groups {
			if !g.dispatch(b, nil) {
				r.st.unreported.Add(batchHits(b))
			}
		}
		batch, size = nil, base
	}
	for _, h := range hits {
		hs := protowire.SizeTag(3) + protowire.SizeBytes(proto.Size(h))
		if base+hs > r.o.MaxBatchBytes {
			// No batch can carry it: the engine would refuse it, and the
			// stream with it.
			r.st.oversize.Add(h.GetHits() * uint64(len(r.groups)))
			r.log.Warn("hit larger than a batch may be: dropped", "domain", h.GetDomain(),
				"bytes", hs, "max_batch_bytes", r.o.MaxBatchBytes)
			continue
		}
		if len(batch) == r.o.MaxBatchHits || size+hs > r.o.MaxBatchBytes {
			dispatch()
		}
		batch = append(batch, h)
		size += hs
	}
	dispatch()
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

// Connected reports whether every group has a live engine stream that
// takes hits.
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
			if c.takesHits() {
				n++
			}
		}
	}
	return n
}

// DroppedHits counts hits no engine acknowledged: buffer overflow, a hit
// too large for any batch, no engine reachable, or a stream that broke
// before the engine acknowledged them.
func (r *HitReporter) DroppedHits() uint64 {
	return r.st.overflow.Value() + r.st.unreported.Value() + r.st.unacked.Value() + r.st.oversize.Value()
}

// AckedHits counts the hits engines acknowledged, per group.
func (r *HitReporter) AckedHits() uint64 { return r.st.reported.Value() }

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
