package serving

import (
	"context"
	"sync/atomic"
	"time"

	stats "github.com/lyft/gostats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// GRPCLimits bound what one gRPC server takes on, so that a load far past
// capacity costs latency, never memory without bound. The zero value is
// the defaults.
type GRPCLimits struct {
	// MaxConcurrentStreams is the calls one connection may have open at
	// once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); Envoy opens another
	// connection past it. Default 1024.
	MaxConcurrentStreams uint32
	// MaxInflight is the calls in progress over the whole server; a call
	// over it is refused at once with ResourceExhausted. Default 10000.
	MaxInflight int
	// MaxRecvMsgSize is the largest request message in bytes; grpc-go
	// refuses a larger one with ResourceExhausted "grpc: received message
	// larger than max (N vs. MaxRecvMsgSize)". Default 4 MiB.
	MaxRecvMsgSize int
	// KeepaliveMinTime is how often a client may ping; one that pings more
	// often is cut (GOAWAY too_many_pings). Pings on idle connections are
	// allowed: Envoy keeps them warm. Default 10s.
	KeepaliveMinTime time.Duration
	// KeepaliveTime and KeepaliveTimeout: the server pings a connection
	// idle for KeepaliveTime and closes it when the ping is not answered
	// within KeepaliveTimeout, so that dead peers do not hold streams.
	// Defaults 30s and 10s.
	KeepaliveTime, KeepaliveTimeout time.Duration
	// MaxConnectionAge ends a connection (GOAWAY) after this long so that
	// long-lived clients rebalance over replicas that came up since; calls
	// still running get MaxConnectionAgeGrace. Zero: never.
	MaxConnectionAge, MaxConnectionAgeGrace time.Duration
}

func (l GRPCLimits) withDefaults() GRPCLimits {
	if l.MaxConcurrentStreams == 0 {
		l.MaxConcurrentStreams = 1024
	}
	if l.MaxInflight <= 0 {
		l.MaxInflight = 10_000
	}
	if l.MaxRecvMsgSize <= 0 {
		l.MaxRecvMsgSize = 4 << 20
	}
	if l.KeepaliveMinTime <= 0 {
		l.KeepaliveMinTime = 10 * time.Second
	}
	if l.KeepaliveTime <= 0 {
		l.KeepaliveTime = 30 * time.Second
	}
	if l.KeepaliveTimeout <= 0 {
		l.KeepaliveTimeout = 10 * time.Second
	}
	return l
}

// serverOptions are the grpc-go options that enforce l.
func (l GRPCLimits) serverOptions() []grpc.ServerOption {
	kp := keepalive.ServerParameters{Time: l.KeepaliveTime, Timeout: l.KeepaliveTimeout}
	if l.MaxConnectionAge > 0 {
		kp.MaxConnectionAge, kp.MaxConnectionAgeGrace = l.MaxConnectionAge, l.MaxConnectionAgeGrace
	}
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(l.MaxConcurrentStreams),
		grpc.MaxRecvMsgSize(l.MaxRecvMsgSize),
		grpc.KeepaliveParams(kp),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: l.KeepaliveMinTime, PermitWithoutStream: true}),
	}
}

// inflightGate refuses calls over a server-wide bound.
type inflightGate struct {
	max      int64
	inflight atomic.Int64
	gauge    stats.Gauge
	refused  stats.Counter
}

func newInflightGate(max int, sc stats.Scope) *inflightGate {
	return &inflightGate{max: int64(max), gauge: sc.NewGauge("inflight"), refused: sc.NewCounter("inflight_refused")}
}

// enter takes a place, or says why there is none.
func (g *inflightGate) enter() error {
	if g.inflight.Add(1) > g.max {
		g.inflight.Add(-1)
		g.refused.Inc()
		return status.Errorf(codes.ResourceExhausted, "server busy: over --max-inflight %d calls in progress", g.max)
	}
	g.gauge.Inc()
	return nil
}

func (g *inflightGate) leave() {
	g.inflight.Add(-1)
	g.gauge.Dec()
}

func (g *inflightGate) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := g.enter(); err != nil {
		return nil, err
	}
	defer g.leave()
	return h(ctx, req)
}

func (g *inflightGate) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := g.enter(); err != nil {
		return err
	}
	defer g.leave()
	return h(srv, ss)
}
