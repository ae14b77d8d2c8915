package replica

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions/enginepb"
)

// leaseCall is one LeaseRequest and the leases its asks are for, in order.
type leaseCall struct {
	client *leaseClient
	req    *enginepb.LeaseRequest
	leases []*lease
}

// fail hands the call's leases back unanswered: each ask's overdraft is
// charged with the lease's next ask.
func (c *leaseCall) fail() {
	for i, l := range c.leases {
		l.fail(c.req.Asks[i].GetOverdraft())
	}
	c.client.inflight.Add(-1)
}

// leaseConn keeps one Lease stream to one engine open, reconnecting with
// backoff. Replies come in the order of the requests.
type leaseConn struct {
	c      *leaseClient
	addr   string
	cc     *grpc.ClientConn
	client enginepb.ThrottleEngineClient
	calls  chan *leaseCall
	up     atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newLeaseConn(c *leaseClient, addr string, dial []grpc.DialOption) (*leaseConn, error) {
	cc, err := dialEngine(addr, dial)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &leaseConn{c: c, addr: addr, cc: cc, client: enginepb.NewThrottleEngineClient(cc),
		calls: make(chan *leaseCall, 16), ctx: ctx, cancel: cancel, done: make(chan struct{})}, nil
}

func (c *leaseConn) run() {
	defer close(c.done)
	attempt := 0
	for c.ctx.Err() == nil {
		up, err := c.stream()
		// A call handed over while the stream was ending would wait for the
		// next one, however long the engine stays away: its leases ask
		// again elsewhere instead.
		c.drainCalls()
		if c.ctx.Err() != nil {
			return
		}
		if up {
			attempt = 0
		}
		c.c.st.reconnects.Inc()
		c.c.log.Warn("engine lease stream lost", "engine", c.addr, "err", err)
		if !c.c.o.Engines.Backoff.Sleep(c.ctx, attempt) {
			return
		}
		attempt++
	}
}

// stream runs one Lease stream until it fails or the conn closes; it
// reports whether the stream got established.
func (c *leaseConn) stream() (bool, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopSetup := context.AfterFunc(c.ctx, cancel)
	st, err := c.client.Lease(ctx, grpc.WaitForReady(true))
	if err != nil {
		return false, err
	}
	replies, recvErr := receive(ctx, st.Recv, maxLeaseCallsInFlight)
	if _, err := st.Header(); err != nil {
		return false, err
	}
	if !stopSetup() {
		return false, c.ctx.Err()
	}
	var inflight []*leaseCall
	c.up.Store(true)
	c.c.up()
	c.c.st.connected.Inc()
	c.c.log.Info("engine lease stream up", "engine", c.addr)
	defer func() {
		c.up.Store(false)
		c.c.st.connected.Dec()
		for _, call := range inflight {
			call.fail()
		}
		c.drainCalls()
	}()
	for {
		calls := c.calls
		if len(inflight) >= maxLeaseCallsInFlight {
			calls = nil
		}
		select {
		case call := <-calls:
			if err := st.Send(call.req); err != nil {
				call.fail()
				return true, err
			}
			inflight = append(inflight, call)
		case r := <-replies:
			inflight = c.answered(inflight, r)
		case err := <-recvErr:
		drain:
			for {
				select {
				case r := <-replies:
					inflight = c.answered(inflight, r)
				default:
					break drain
				}
			}
			return true, err
		case <-c.ctx.Done():
			// Closing: what is in flight (the replica's last returns) gets
			// a moment for its replies.
			_ = st.CloseSend()
			grace := time.NewTimer(time.Second)
			defer grace.Stop()
			for len(inflight) > 0 {
				select {
				case r := <-replies:
					inflight = c.answered(inflight, r)
				case <-recvErr:
					return true, c.ctx.Err()
				case <-grace.C:
					return true, c.ctx.Err()
				}
			}
			return true, c.ctx.Err()
		}
	}
}

// answered applies r to the call it answers; calls it passed over were
// lost by the engine.
func (c *leaseConn) answered(inflight []*leaseCall, r *enginepb.LeaseReply) []*leaseCall {
	for len(inflight) > 0 {
		call := inflight[0]
		inflight = inflight[1:]
		if call.req.GetSeq() != r.GetSeq() {
			call.fail()
			continue
		}
		c.c.applyReply(call, r)
		break
	}
	if len(inflight) == 0 {
		return inflight[:0:0]
	}
	return inflight
}

// drainCalls fails the calls queued on a lost stream; the leases ask again.
func (c *leaseConn) drainCalls() {
	for {
		select {
		case call := <-c.calls:
			call.fail()
		default:
			return
		}
	}
}

func (c *leaseConn) close() {
	c.cancel()
	<-c.done
	c.drainCalls()
	_ = c.cc.Close()
}
