package cluster

import (
	"fmt"
	"strconv"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// replicaNode is one RLS replica with what a process of its own would hold:
// its connections to the brokers (nil in memory), the async limiter, the
// service and its gRPC server, and a client that calls it as Envoy does.
type replicaNode struct {
	addr    string
	brokers *decisions.Brokers
	limiter *replica.Limiter
	service *ratelimit.Service
	srv     *grpc.Server
	conn    *grpc.ClientConn
	client  rlsv3.RateLimitServiceClient
	stopped bool // by StopReplica; guarded by the cluster's mu
}

// startReplica runs replica id reporting to engines, one group.
func (c *Cluster) startReplica(id string, engines []string) (*replicaNode, error) {
	n := &replicaNode{}
	var sub decisions.Subscriber = c.memBus
	if len(c.o.Redis) > 0 {
		b, err := c.openBrokers()
		if err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", id, err)
		}
		n.brokers, sub = b, b.Bus
	}
	lim, err := replica.NewLimiter(replica.Options{
		Mode: c.o.Mode, Leases: c.o.Leases, OnEngineDown: c.o.OnEngineDown,
		Engines: replica.HitReporterOptions{Groups: [][]string{engines}, ReplicaID: id,
			FlushInterval: c.o.ReportInterval, Backoff: c.o.Backoff},
		Decisions: sub, Stats: c.o.Stats, Logger: c.o.Logger, Now: c.o.Now,
	})
	if err != nil {
		n.brokers.Close()
		return nil, fmt.Errorf("cluster: %s: %w", id, err)
	}
	n.limiter = lim
	n.service = ratelimit.NewService(ratelimit.Options{Limiter: lim, KeyEncoding: c.o.KeyEncoding,
		Stats: c.o.Stats, Now: c.o.Now})
	n.service.SetSnapshot(c.snapshot)
	l, err := listen("127.0.0.1:0")
	if err != nil {
		n.stop()
		return nil, fmt.Errorf("cluster: %s: %w", id, err)
	}
	n.addr = l.Addr().String()
	// The codec the binary serves the RLS with, so loads through the
	// harness measure what Envoy would meet.
	n.srv = grpc.NewServer(grpc.ForceServerCodecV2(ratelimit.Codec{}))
	n.service.Register(n.srv)
	go func() { _ = n.srv.Serve(l) }()
	n.conn, err = grpc.NewClient(n.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		n.stop()
		return nil, fmt.Errorf("cluster: %s: dial: %w", id, err)
	}
	n.client = rlsv3.NewRateLimitServiceClient(n.conn)
	return n, nil
}

// stop closes the client, the server, then the limiter (which flushes its
// last hits to the engines) and its connections.
func (n *replicaNode) stop() {
	if n.conn != nil {
		_ = n.conn.Close()
	}
	if n.srv != nil {
		n.srv.Stop()
	}
	_ = n.limiter.Close()
	if n.brokers != nil {
		n.brokers.Close()
	}
}

// connected reports whether the replica streams to engines live engines
// and hears decisions.
func (n *replicaNode) connected(engines int) bool {
	h := n.limiter.Health()
	return h.EngineConnected && h.EnginesConnected == engines && h.BusConnected
}

func replicaID(i int) string { return "replica-" + strconv.Itoa(i) }
