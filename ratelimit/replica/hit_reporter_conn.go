package replica

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/decisions/enginepb"
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
	n := len(g.conns)
	start := 0
	if g.policy == LoadBalance {
		start = int(g.next.Add(1)-1) % n
	}
	for i := 0; i < n; i++ {
		c := g.conns[(start+i)%n]
		if c == except || !c.healthy.Load() {
			continue
		}
		select {
		case c.queue <- b:
			return true
		default: // this engine is behind; try the next
		}
	}
	return false
}

func (g *engineGroup) connected() bool {
	for _, c := range g.conns {
		if c.healthy.Load() {
			return true
		}
	}
	return false
}

// engineConn keeps one long-lived StreamHits stream to one engine open,
// reconnecting with backoff.
type engineConn struct {
	r       *HitReporter
	g       *engineGroup
	addr    string
	cc      *grpc.ClientConn
	client  enginepb.ThrottleEngineClient
	queue   chan *enginepb.HitBatch
	healthy atomic.Bool
	started atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newEngineConn(r *HitReporter, g *engineGroup, addr string) (*engineConn, error) {
	opts := r.o.DialOptions
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	cc, err := grpc.NewClient(addr, opts...)
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
	st, err := c.client.StreamHits(ctx)
	if err != nil {
		return false, err
	}
	recvErr := make(chan error, 1)
	go func() {
		for {
			if _, err := st.Recv(); err != nil {
				recvErr <- err
				return
			}
		}
	}()
	// A stream counts as up once the engine answered its headers.
	if _, err := st.Header(); err != nil {
		return false, err
	}
	if !stopSetup() {
		return false, c.ctx.Err()
	}
	c.healthy.Store(true)
	c.r.st.connected.Inc()
	c.r.log.Info("engine stream up", "engine", c.addr)
	defer func() {
		c.healthy.Store(false)
		c.r.st.connected.Dec()
		c.requeue()
	}()
	for {
		select {
		case b := <-c.queue:
			if err := st.Send(b); err != nil {
				c.r.st.sendErrors.Inc()
				c.r.st.unreported.Add(batchHits(b))
				return true, err
			}
			c.r.st.batches.Inc()
			c.r.st.reported.Add(batchHits(b))
		case err := <-recvErr:
			return true, err
		case <-c.ctx.Done():
			c.drain(st)
			_ = st.CloseSend()
			// Let the engine finish reading; cancel after a grace period.
			select {
			case <-recvErr:
			case <-time.After(time.Second):
			}
			return true, c.ctx.Err()
		}
	}
}

// drain sends what is queued before a clean close.
func (c *engineConn) drain(st grpc.BidiStreamingClient[enginepb.HitBatch, enginepb.BatchAck]) {
	for {
		select {
		case b := <-c.queue:
			if err := st.Send(b); err != nil {
				c.r.st.unreported.Add(batchHits(b))
				return
			}
			c.r.st.batches.Inc()
			c.r.st.reported.Add(batchHits(b))
		default:
			return
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
