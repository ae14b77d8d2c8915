package replica

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/backoff"
)

// engineGroup is the engines one batch may go to.
type engineGroup struct {
	r      *HitReporter
	policy EnginePolicy
	conns  []*engineConn
	next   atomic.Uint32 // round-robin position
}

// dispatch queues b on one healthy engine, skipping except; it reports
// whether one took it.
func (g *engineGroup) dispatch(b *enginepb.HitBatch, except *engineConn) bool {
	return pickEngine(g.policy, &g.next, len(g.conns), func(i int) bool {
		c := g.conns[i]
		if c == except || !c.takesHits() {
			return false
		}
		select {
		case c.queue <- b:
			return true
		default: // this engine is behind; try the next
			return false
		}
	})
}

func (g *engineGroup) connected() bool {
	for _, c := range g.conns {
		if c.takesHits() {
			return true
		}
	}
	return false
}

// engineBackoff is the wait between attempts to open an engine stream
// unless the options give one: short enough that a replica takes hits
// again within half a second of an engine's return.
var engineBackoff = backoff.Backoff{Base: 50 * time.Millisecond, Max: 250 * time.Millisecond}

// engineConnectParams are the reconnect delays of the connection under an
// engine stream. gRPC's defaults grow to 120s; a replica whose engines were
// down for a while would drop every hit for seconds after they return.
var engineConnectParams = grpc.ConnectParams{
	Backoff: grpcbackoff.Config{
		BaseDelay:  50 * time.Millisecond,
		Multiplier: 1.6,
		Jitter:     0.2,
		MaxDelay:   250 * time.Millisecond,
	},
	MinConnectTimeout: 2 * time.Second,
}

// engineConn keeps one long-lived StreamHits stream to one engine open,
// reconnecting with backoff. A batch counts as delivered when the engine
// acknowledges it: the engine acks each batch, in order, once it holds its
// hits.
type engineConn struct {
	r       *HitReporter
	g       *engineGroup
	addr    string
	cc      *grpc.ClientConn
	client  enginepb.ThrottleEngineClient
	queue   chan *enginepb.HitBatch
	healthy atomic.Bool // the stream is up
	stalled atomic.Bool // MaxUnacked batches wait for their ack
	started atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// sentBatch is a batch sent on a stream and not acknowledged yet.
type sentBatch struct{ seq, hits uint64 }

func newEngineConn(r *HitReporter, g *engineGroup, addr string) (*engineConn, error) {
	cc, err := dialEngine(addr, r.o.DialOptions)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &engineConn{
		r: r, g: g, addr: addr, cc: cc,
		client: enginepb.NewThrottleEngineClient(cc),
		queue:  make(chan *enginepb.HitBatch, r.o.QueueLen),
		ctx:    ctx, cancel: cancel,
		done: make(chan struct{}),
	}, nil
}

// takesHits reports whether the engine behind c is taking hits: its stream
// is up and acknowledging.
func (c *engineConn) takesHits() bool { return c.healthy.Load() && !c.stalled.Load() }

func (c *engineConn) start() {
	c.started.Store(true)
	go c.run()
}

func (c *engineConn) run() {
	defer close(c.done)
	attempt := 0
	for c.ctx.Err() == nil {
		sent, err := c.stream()
		if c.ctx.Err() != nil {
			return
		}
		c.r.st.reconnect.Inc()
		if sent {
			attempt = 0
		}
		c.r.log.Warn("engine stream lost", "engine", c.addr, "err", err)
		if !c.r.o.Backoff.Sleep(c.ctx, attempt) {
			return
		}
		attempt++
	}
}

// stream runs one StreamHits stream until it fails or the conn closes; it
// reports whether the stream got established.
func (c *engineConn) stream() (bool, error) {
	// The stream outlives c.ctx by a drain on Close, so it has its own
	// context; Close cancels it only while it is being set up.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopSetup := context.AfterFunc(c.ctx, cancel)
	// Waiting for the connection, rather than failing while it is down,
	// lets the stream open as soon as the engine is back.
	st, err := c.client.StreamHits(ctx, grpc.WaitForReady(true))
	if err != nil {
		return false, err
	}
	acks, recvErr := receive(ctx, st.Recv, c.r.o.MaxUnacked)
	// A stream counts as up once the engine answered its headers.
	if _, err := st.Header(); err != nil {
		return false, err
	}
	if !stopSetup() {
		return false, c.ctx.Err()
	}
	var unacked []sentBatch
	c.healthy.Store(true)
	c.r.st.connected.Inc()
	c.r.log.Info("engine stream up", "engine", c.addr)
	defer func() {
		c.healthy.Store(false)
		c.stalled.Store(false)
		c.r.st.connected.Dec()
		// Sent but never acknowledged: the engine may have lost them with
		// the stream. Counted as dropped rather than sent again, since an
		// engine that did take them before the break would count them twice.
		for _, s := range unacked {
			c.r.st.unacked.Add(s.hits)
		}
		if len(unacked) > 0 {
			c.r.log.Warn("engine stream broke before acknowledging batches: their hits are counted as dropped",
				"engine", c.addr, "batches", len(unacked))
		}
		c.requeue()
	}()
	send := func(b *enginepb.HitBatch) error {
		if err := st.Send(b); err != nil {
			c.r.st.sendErrors.Inc()
			c.r.st.unreported.Add(batchHits(b))
			return err
		}
		c.r.st.batches.Inc()
		unacked = append(unacked, sentBatch{seq: b.GetSeq(), hits: batchHits(b)})
		return nil
	}
	for {
		queue := c.queue
		if len(unacked) >= c.r.o.MaxUnacked {
			queue = nil // wait for acks; the queue fills and the group moves on
		}
		c.stalled.Store(queue == nil)
		select {
		case b := <-queue:
			if err := send(b); err != nil {
				return true, err
			}
		case a := <-acks:
			unacked = c.acked(unacked, a)
		case err := <-recvErr:
			unacked = c.drainAcks(unacked, acks)
			return true, err
		case <-c.ctx.Done():
			return true, c.closeStream(st, send, acks, recvErr, &unacked)
		}
	}
}

// acked counts the batch a acknowledges as delivered. Acks come in the
// order the batches were sent; a batch passed over by a later ack was lost.
func (c *engineConn) acked(unacked []sentBatch, a *enginepb.BatchAck) []sentBatch {
	for len(unacked) > 0 {
		s := unacked[0]
		unacked = unacked[1:]
		if s.seq == a.GetSeq() {
			c.r.st.reported.Add(s.hits)
			break
		}
		c.r.st.unacked.Add(s.hits)
	}
	if len(unacked) == 0 {
		return unacked[:0:0] // let the array go
	}
	return unacked
}

// drainAcks takes the acks that arrived before the stream ended.
func (c *engineConn) drainAcks(unacked []sentBatch, acks <-chan *enginepb.BatchAck) []sentBatch {
	for {
		select {
		case a := <-acks:
			unacked = c.acked(unacked, a)
		default:
			return unacked
		}
	}
}

// closeStream sends what is queued, half-closes the stream and waits a
// grace period for the engine's last acks.
func (c *engineConn) closeStream(st grpc.BidiStreamingClient[enginepb.HitBatch, enginepb.BatchAck],
	send func(*enginepb.HitBatch) error, acks <-chan *enginepb.BatchAck, recvErr <-chan error, unacked *[]sentBatch) error {
	defer func() { *unacked = c.drainAcks(*unacked, acks) }()
	for sending := true; sending; {
		select {
		case b := <-c.queue:
			if err := send(b); err != nil {
				return err
			}
		default:
			sending = false
		}
	}
	_ = st.CloseSend()
	grace := time.NewTimer(time.Second)
	defer grace.Stop()
	for {
		select {
		case a := <-acks:
			*unacked = c.acked(*unacked, a)
		case <-recvErr:
			return c.ctx.Err()
		case <-grace.C:
			return c.ctx.Err()
		}
	}
}

// requeue hands batches still queued on a lost stream to the group's other
// engines; they were never sent, so none is counted twice.
func (c *engineConn) requeue() {
	for {
		select {
		case b := <-c.queue:
			if !c.g.dispatch(b, c) {
				c.r.st.unreported.Add(batchHits(b))
			}
		default:
			return
		}
	}
}

// close stops the stream goroutine, sending what is queued first.
func (c *engineConn) close() {
	c.cancel()
	if c.started.Load() {
		<-c.done
	}
	_ = c.cc.Close()
}
