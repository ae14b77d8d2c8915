package replica

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/policy"
)

const (
	// maxLeaseCallsInFlight bounds the requests one stream has sent and
	// the engine not answered yet.
	maxLeaseCallsInFlight = 64
	// maxAsksPerCall bounds the asks of one LeaseRequest, well within the
	// engine's receive limit.
	maxAsksPerCall = 2048
)

// leaseClient sends the asks the request path and the sweep queue to the
// engines, batched per interval or at once when a request waits, and
// applies the grants that come back.
type leaseClient struct {
	o           Options
	log         *slog.Logger
	incarnation uint64
	table       *leaseTable
	conns       []*leaseConn
	next        atomic.Uint32
	seq         atomic.Uint64
	asks        chan *lease
	kick        chan struct{}
	// replicas is the fleet's size: the most active replicas any reply
	// reported over the last sweep periods. An engine counts only those
	// that asked it lately, so one reply may say fewer than there are;
	// too few would make overdrafts too large.
	replicas  atomic.Uint32
	peak      atomic.Uint32 // the most since the last sweep
	inflight  atomic.Int64  // calls sent or queued on a stream, not yet answered
	firstUp   chan struct{} // closed when a stream is first up
	started   time.Time
	firstOnce sync.Once
	st        leaseStats

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

type leaseStats struct {
	asks, grants, granted, returned, stranded stats.Counter
	overdrawn, waits, waitTimeouts            stats.Counter
	fallback, fallbackDenied, exhausted       stats.Counter
	full, asksDropped, unavailable            stats.Counter
	reconnects                                stats.Counter
	connected                                 stats.Gauge
}

func newLeaseClient(o Options, table *leaseTable) (*leaseClient, error) {
	if len(o.Engines.Groups) != 1 {
		return nil, errors.New("leases: give one engine group; every engine of it shares the counter store")
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	sc := o.Stats.Scope("lease")
	c := &leaseClient{
		o:           o,
		table:       table,
		log:         o.Logger.With("component", "lease-client"),
		incarnation: binary.LittleEndian.Uint64(b[:]),
		asks:        make(chan *lease, o.Leases.MaxQueued),
		kick:        make(chan struct{}, 1),
		firstUp:     make(chan struct{}),
		started:     time.Now(),
		done:        make(chan struct{}),
		st: leaseStats{
			asks:           sc.NewCounter("asks"),
			grants:         sc.NewCounter("grants"),
			granted:        sc.NewCounter("tokens_granted"),
			returned:       sc.NewCounter("tokens_returned"),
			stranded:       sc.NewCounter("tokens_stranded"),
			overdrawn:      sc.NewCounter("tokens_overdrawn"),
			waits:          sc.NewCounter("waits"),
			waitTimeouts:   sc.NewCounter("wait_timeouts"),
			fallback:       sc.NewCounter("fallback_admitted"),
			fallbackDenied: sc.NewCounter("fallback_denied"),
			exhausted:      sc.NewCounter("exhausted_denied"),
			full:           sc.NewCounter("table_full"),
			asksDropped:    sc.NewCounter("asks_dropped"),
			unavailable:    sc.NewCounter("unavailable"),
			reconnects:     sc.NewCounter("reconnects"),
			connected:      sc.NewGauge("engines_connected"),
		},
	}
	for _, a := range o.Engines.Groups[0] {
		lc, err := newLeaseConn(c, a, o.Engines.DialOptions)
		if err != nil {
			for _, x := range c.conns {
				x.close()
			}
			return nil, err
		}
		c.conns = append(c.conns, lc)
	}
	for _, lc := range c.conns {
		go lc.run()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(ctx)
	return c, nil
}

// up notes a stream up.
func (c *leaseClient) up() { c.firstOnce.Do(func() { close(c.firstUp) }) }

// connected reports whether an engine takes asks.
func (c *leaseClient) connected() bool { return c.enginesConnected() > 0 }

func (c *leaseClient) enginesConnected() int {
	n := 0
	for _, lc := range c.conns {
		if lc.up.Load() {
			n++
		}
	}
	return n
}

// queue puts l's ask in the queue unless it is there or in flight; urgent
// sends the queue at once rather than at the next interval.
func (c *leaseClient) queue(l *lease, urgent bool) {
	if l.queued.CompareAndSwap(false, true) {
		select {
		case c.asks <- l:
		default:
			c.st.asksDropped.Inc()
			l.wake()
			return
		}
	}
	if urgent {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (c *leaseClient) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.o.Engines.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.send()
			return
		case <-c.kick:
		case <-t.C:
		}
		c.send()
	}
}

// send turns the queued asks into requests, each to one engine.
func (c *leaseClient) send() {
	now := time.Now()
	for {
		call := &leaseCall{}
	collect:
		for len(call.leases) < maxAsksPerCall {
			select {
			case l := <-c.asks:
				call.leases = append(call.leases, l)
			default:
				break collect
			}
		}
		if len(call.leases) == 0 {
			return
		}
		call.req = &enginepb.LeaseRequest{ReplicaId: c.o.Engines.ReplicaID, Incarnation: c.incarnation,
			Seq: c.seq.Add(1), Replicas: c.replicas.Load(), Asks: make([]*enginepb.LeaseAsk, len(call.leases))}
		for i, l := range call.leases {
			call.req.Asks[i] = c.ask(l, now)
		}
		c.st.asks.Add(uint64(len(call.leases)))
		call.client = c
		c.inflight.Add(1)
		if !c.dispatch(call) {
			c.st.unavailable.Add(uint64(len(call.leases)))
			call.fail()
		}
		if len(call.leases) < maxAsksPerCall {
			return
		}
	}
}

// ask is l's part of a request: its charge, its returns, and the tokens it
// wants over what it holds (none when it gives tokens back).
func (c *leaseClient) ask(l *lease, now time.Time) *enginepb.LeaseAsk {
	used := l.used.Swap(0)
	a := &enginepb.LeaseAsk{Domain: l.ask.Domain, Entries: l.ask.Entries, Limit: l.ask.Limit,
		WindowStart: l.ask.WindowStart, LimitIndex: l.ask.LimitIndex, Used: used, Denied: l.refused.Swap(0),
		Overdraft: l.charge.Swap(0), Returned: l.returning.Swap(0)}
	if l.has(leaseContacted) {
		a.Seen = l.limit - min(l.limit, l.remaining.Load())
	}
	switch {
	case a.Returned > 0: // idle: nothing more wanted
	case l.sync:
		// Too small a limit to split: exactly what the waiting requests
		// need, so that no token strands on this replica.
		a.Want = uint64(max(1, l.waiting.Load()))
	default:
		want := l.want(now, used, c.o.Leases.Horizon)
		l.low.Store(int64(want / 2))
		held := l.held()
		waiting := uint64(max(0, l.waiting.Load()))
		if l.credit > 0 && waiting == 0 && l.rate*c.o.Leases.Horizon.Seconds() < 1 {
			// Under a token a horizon: the key lives on its overdraft,
			// charged as it goes and restored by the answer. A token held
			// for it would only come back unused.
			break
		}
		a.Want = max(1, waiting, want-min(want, held))
		c.askAhead(l, now)
	}
	c.st.returned.Add(a.Returned)
	return a
}

// askAhead makes the next window's lease of a busy key shortly before its
// window ends and queues its ask, so that the replicas hold tokens when the
// window turns instead of all asking at once. Only for a fixed window: a
// sliding window's next one starts with this one's count whole in its
// estimate, and a bucket has no windows.
func (c *leaseClient) askAhead(l *lease, now time.Time) {
	lead := 2 * max(c.o.Leases.Horizon, c.o.Engines.FlushInterval)
	if l.algo != policy.FixedWindow || l.rate == 0 || l.ahead.Load() || time.Unix(l.windowEnd, 0).Sub(now) > lead {
		return
	}
	l.ahead.Store(true)
	if n := c.table.next(l); n != nil {
		n.rate = l.rate
		c.queue(n, false)
	}
}

// dispatch hands call to one engine whose stream is up.
func (c *leaseClient) dispatch(call *leaseCall) bool {
	return pickEngine(c.o.Engines.Policy, &c.next, len(c.conns), func(i int) bool {
		lc := c.conns[i]
		if !lc.up.Load() {
			return false
		}
		select {
		case lc.calls <- call:
			return true
		default: // this engine is behind; try the next
			return false
		}
	})
}

// applyReply gives each lease of call its grant.
func (c *leaseClient) applyReply(call *leaseCall, r *enginepb.LeaseReply) {
	c.heardReplicas(r.GetReplicas())
	gs := r.GetGrants()
	now := c.o.Now()
	for i, l := range call.leases {
		if i >= len(gs) {
			l.fail(call.req.Asks[i].GetOverdraft())
			continue
		}
		switch gs[i].GetStatus() {
		case enginepb.Grant_OK:
			c.st.grants.Inc()
			c.st.granted.Add(gs[i].GetTokens())
			l.apply(gs[i], now)
		case enginepb.Grant_UNAVAILABLE:
			// The store took nothing: the charge waits for the next ask.
			c.st.unavailable.Inc()
			l.fail(call.req.Asks[i].GetOverdraft())
		default:
			c.st.unavailable.Inc()
			l.apply(gs[i], now)
		}
	}
	c.inflight.Add(-1)
}

// heardReplicas takes a reply's count of active replicas.
func (c *leaseClient) heardReplicas(n uint32) {
	for _, v := range []*atomic.Uint32{&c.replicas, &c.peak} {
		for old := v.Load(); n > old && !v.CompareAndSwap(old, n); old = v.Load() {
		}
	}
}

// forgetReplicas lets the fleet's size fall to what the replies since the
// last call reported, once a sweep period: replicas that stopped leave it.
func (c *leaseClient) forgetReplicas() {
	if p := c.peak.Swap(0); p > 0 {
		c.replicas.Store(p)
	}
}

// overdraft is d = ⌊ε·limit / N⌋, what a replica may admit of a cold key
// before its first grant; none before the replica knows N.
func (c *leaseClient) overdraft(limit uint64) int64 {
	n := uint32(c.o.Leases.MaxReplicas)
	if n == 0 {
		n = c.replicas.Load()
	}
	if n == 0 || c.o.Leases.OverdraftRatio <= 0 {
		return 0
	}
	return int64(math.Floor(c.o.Leases.OverdraftRatio * float64(limit) / float64(n)))
}

// idle reports whether no ask waits to be sent or for its reply.
func (c *leaseClient) idle() bool { return c.inflight.Load() == 0 && len(c.asks) == 0 }

// close sends what is queued (the leases' returns among it) and closes the
// streams after their replies.
func (c *leaseClient) close() {
	c.once.Do(func() {
		c.cancel()
		<-c.done
		for _, lc := range c.conns {
			lc.close()
		}
	})
}
