package cluster

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
)

// engineNode is one throttle engine with what a process of its own would
// hold: its connections to the brokers (nil in memory), the engine, and
// the gRPC server it answers on.
type engineNode struct {
	id      string
	addr    string
	brokers *decisions.Brokers
	global  *redis.Client // the global tier's, nil without one
	engine  *decisions.Engine
	srv     *grpc.Server
}

// startEngine runs engine id on addr ("127.0.0.1:0" for any port). A
// restarted engine keeps its id and its address, so replicas find it again.
func (c *Cluster) startEngine(id, addr string) (*engineNode, error) {
	n := &engineNode{id: id}
	var (
		store counter.Store       = c.memCounter
		pub   decisions.Publisher = c.memBus
	)
	if len(c.o.Redis) > 0 {
		b, err := c.openBrokers()
		if err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", id, err)
		}
		n.brokers = b
		// The client belongs to the brokers; the Redis store closes nothing.
		store, pub = counter.NewRedis(b.Clients[0], c.o.CounterPrefix), b.Bus
	}
	eo := decisions.EngineOptions{
		ID: id, Counter: store, Publisher: pub, FlushInterval: c.o.FlushInterval, KeyEncoding: c.o.KeyEncoding,
		Stats: c.o.Stats, Logger: c.o.Logger, Now: c.o.Now,
	}
	if c.o.GlobalRedis != "" {
		ro, err := redis.ParseURL(c.o.GlobalRedis)
		if err != nil {
			n.brokers.Close()
			return nil, fmt.Errorf("cluster: %s: global redis: %w", id, err)
		}
		n.global = redis.NewClient(ro)
		g := c.o.Global
		g.Datacenter, g.Store, g.Name = c.o.Datacenter, counter.NewRedis(n.global, ""), ro.Addr
		eo.Global = &g
	}
	e, err := decisions.NewEngine(eo)
	if err != nil {
		n.closeGlobal()
		n.brokers.Close()
		return nil, fmt.Errorf("cluster: %s: %w", id, err)
	}
	e.SetSnapshot(c.snapshot)
	n.engine = e
	l, err := listen(addr)
	if err != nil {
		n.stop()
		return nil, fmt.Errorf("cluster: %s: %w", id, err)
	}
	n.addr = l.Addr().String()
	n.srv = grpc.NewServer()
	e.Register(n.srv)
	go func() { _ = n.srv.Serve(l) }()
	return n, nil
}

// stop ends the engine as a crash would: its streams are cut at once, and
// whatever it had not flushed yet is flushed by Close or lost with the
// connection.
func (n *engineNode) stop() {
	if n.srv != nil {
		n.srv.Stop()
	}
	_ = n.engine.Close()
	n.closeGlobal()
	if n.brokers != nil {
		n.brokers.Close()
	}
}

func (n *engineNode) closeGlobal() {
	if n.global != nil {
		_ = n.global.Close()
	}
}

// listen binds addr, retrying for a moment: the port of an engine that was
// just stopped may not be free again yet.
func listen(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			return l, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("listen on %s: %w", addr, err)
}

func engineID(i int) string { return "engine-" + strconv.Itoa(i) }
