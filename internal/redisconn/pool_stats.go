package redisconn

import (
	"context"
	"net"
	"sync"
	"syscall"

	gostats "github.com/lyft/gostats"
	"github.com/redis/go-redis/v9"
)

// CountConnections keeps envoyproxy/ratelimit's Redis pool stats of c under
// scope, with their meaning there (src/redis/driver_impl.go, newPoolStats
// and poolTrace): cx_total counts connections made, cx_local_close
// connections closed, and the gauge cx_active those open. go-redis's
// PoolStats has no count of connections made or closed, so they are counted
// where go-redis dials and closes, as radix's pool trace counts them there.
// Call it before the client's first command.
func CountConnections(c redis.UniversalClient, scope gostats.Scope) {
	h := &poolHook{active: scope.NewGauge("cx_active"), total: scope.NewCounter("cx_total"), closed: scope.NewCounter("cx_local_close")}
	if cc, ok := c.(*redis.ClusterClient); ok {
		// A Cluster dials through one client per node, made as nodes are
		// found.
		cc.OnNewNode(func(n *redis.Client) { n.AddHook(h) })
		return
	}
	c.AddHook(h)
}

type poolHook struct {
	active        gostats.Gauge
	total, closed gostats.Counter
}

func (h *poolHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		h.total.Inc()
		h.active.Inc()
		cc := &countedConn{Conn: conn, h: h}
		// go-redis checks an idle connection's socket before reusing it
		// only when it can reach it (syscall.Conn): keep that reachable.
		if _, ok := conn.(syscall.Conn); ok {
			return countedSyscallConn{cc}, nil
		}
		return cc, nil
	}
}

func (h *poolHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *poolHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// countedConn counts its first Close.
type countedConn struct {
	net.Conn
	h    *poolHook
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.h.active.Dec()
		c.h.closed.Inc()
	})
	return c.Conn.Close()
}

// NetConn is the connection counted, as crypto/tls.Conn's NetConn.
func (c *countedConn) NetConn() net.Conn { return c.Conn }

type countedSyscallConn struct{ *countedConn }

func (c countedSyscallConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}
