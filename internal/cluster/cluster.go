package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// Cluster is a running deployment. Its methods are safe for concurrent use;
// Close stops everything it started.
type Cluster struct {
	o        Options
	snapshot *policy.Snapshot

	// The in-memory deployment's bus and counter, shared by every
	// component; nil over Redis.
	memBus     *decisions.MemoryBus
	memCounter counter.Store

	mu       sync.Mutex
	engines  []*engineNode // nil where an engine is stopped
	addrs    []string      // every engine's address, stopped or not
	replicas []*replicaNode
	closed   bool
}

// Start runs o.Engines engines and o.Replicas replicas, each replica
// reporting to every engine, and waits until every replica streams to
// every engine and hears decisions.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	c := &Cluster{o: o, snapshot: o.Snapshot}
	if len(o.Redis) == 0 {
		c.memBus, c.memCounter = &decisions.MemoryBus{Now: o.Now}, counter.NewMemory()
	}
	for i := range o.Engines {
		n, err := c.startEngine(engineID(i), "127.0.0.1:0")
		if err != nil {
			c.Close()
			return nil, err
		}
		c.engines, c.addrs = append(c.engines, n), append(c.addrs, n.addr)
	}
	for i := range o.Replicas {
		n, err := c.startReplica(replicaID(i), c.addrs)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.replicas = append(c.replicas, n)
	}
	if err := c.waitConnected(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// waitConnected polls until every replica is connected or ReadyTimeout
// runs out.
func (c *Cluster) waitConnected(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !c.Connected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: replicas not connected to %d engines and the bus: %w", len(c.addrs), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// Connected reports whether every replica Start ran streams to every
// running engine and hears decisions.
func (c *Cluster) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	running := 0
	for _, e := range c.engines {
		if e != nil {
			running++
		}
	}
	for _, r := range c.replicas[:min(len(c.replicas), c.o.Replicas)] {
		if !r.stopped && !r.connected(running) {
			return false
		}
	}
	return true
}

// Close stops the replicas (which flush their last hits), then the engines,
// then the shared in-memory parts. It may be called more than once.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	for _, r := range c.replicas {
		if !r.stopped {
			r.stop()
		}
	}
	for _, e := range c.engines {
		if e != nil {
			e.stop()
		}
	}
	if c.memCounter != nil {
		_ = c.memCounter.Close()
	}
}

// EngineAddrs are the engines' gRPC addresses, stopped ones included.
func (c *Cluster) EngineAddrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.addrs...)
}

// Engine is engine i, or nil while it is stopped.
func (c *Cluster) Engine(i int) *decisions.Engine {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.engines[i]; e != nil {
		return e.engine
	}
	return nil
}

// Replicas is how many replicas were started, Start's and AddReplica's,
// those StopReplica stopped included.
func (c *Cluster) Replicas() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.replicas)
}

// ReplicaAddrs are the replicas' gRPC (RLS) addresses.
func (c *Cluster) ReplicaAddrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	addrs := make([]string, len(c.replicas))
	for i, r := range c.replicas {
		addrs[i] = r.addr
	}
	return addrs
}

// Limiter is replica i's async limiter: its health and decision cache.
func (c *Cluster) Limiter(i int) *replica.Limiter { return c.replica(i).limiter }

// Service is replica i's RLS service.
func (c *Cluster) Service(i int) *ratelimit.Service { return c.replica(i).service }

// Client calls replica i as Envoy does; Close closes it.
func (c *Cluster) Client(i int) rlsv3.RateLimitServiceClient { return c.replica(i).client }

// Conn is the connection Client(i) calls over, for calls Client cannot
// make (a body that is not a RateLimitRequest).
func (c *Cluster) Conn(i int) *grpc.ClientConn { return c.replica(i).conn }

func (c *Cluster) replica(i int) *replicaNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replicas[i]
}

// SetSnapshot puts snap in force on every engine and replica, and on those
// started later.
func (c *Cluster) SetSnapshot(snap *policy.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snapshot = snap
	for _, e := range c.engines {
		if e != nil {
			e.engine.SetSnapshot(snap)
		}
	}
	for _, r := range c.replicas {
		r.service.SetSnapshot(snap)
	}
}

// StopEngine stops engine i as a crash would: its streams are cut at once.
// Stopping a stopped engine does nothing.
func (c *Cluster) StopEngine(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.engines[i]; e != nil {
		e.stop()
		c.engines[i] = nil
	}
}

// RestartEngine starts engine i again on its address, where the replicas
// are already trying to reconnect. Over Redis it carries on the count its
// predecessor left; in memory the count lives in the shared counter.
func (c *Cluster) RestartEngine(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("cluster: closed")
	}
	if c.engines[i] != nil {
		return fmt.Errorf("cluster: %s is running", engineID(i))
	}
	n, err := c.startEngine(engineID(i), c.addrs[i])
	if err != nil {
		return err
	}
	c.engines[i] = n
	return nil
}

// StopReplica stops replica i as a rolling restart would: it stops
// answering, and its limiter gives back the tokens it held before its
// streams close. Its index stays taken, its client fails; AddReplica starts
// its successor. Stopping a stopped replica does nothing.
func (c *Cluster) StopReplica(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.replicas[i]; !r.stopped {
		r.stop()
		r.stopped = true
	}
}

// AddReplica starts one more replica reporting to engines (one group), or
// to the cluster's engines when none are given, and returns its index. It
// does not wait for the replica to connect: a replica pointed at an
// unreachable engine is how a test shows what decisions alone do.
func (c *Cluster) AddReplica(engines ...string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, errors.New("cluster: closed")
	}
	if len(engines) == 0 {
		engines = c.addrs
	}
	n, err := c.startReplica(replicaID(len(c.replicas)), engines)
	if err != nil {
		return 0, err
	}
	c.replicas = append(c.replicas, n)
	return len(c.replicas) - 1, nil
}

// openBrokers opens one component's own connections to the brokers and the
// decision bus over them, as a separate process would, so that each
// component loses and regains Redis on its own.
func (c *Cluster) openBrokers() (*decisions.Brokers, error) {
	return decisions.OpenBrokers(c.o.Redis, decisions.RedisBusOptions{
		Backoff: c.o.Backoff, PingInterval: c.o.BusPingInterval, RefreshInterval: c.o.BusRefreshInterval,
		Stats: c.o.Stats, Logger: c.o.Logger, Now: c.o.Now,
	})
}
