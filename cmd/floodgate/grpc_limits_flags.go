package main

import (
	"context"
	"flag"
	"log/slog"
	"math"
	"time"

	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/internal/serving"
)

// rlsMaxConnectionAge ages out Envoy's connections to an RLS twice an hour:
// enough for new replicas to take their share, too seldom to churn. Engines
// keep theirs (0): a replica's hit stream cut by age would drop the batches
// in flight.
const (
	rlsMaxConnectionAge    = 30 * time.Minute
	engineMaxConnectionAge = 0
	xdsMaxConnectionAge    = 30 * time.Minute
)

// servingFlags are what every role's listeners share: the overload bounds
// of its gRPC server and the deadline of its stop.
type servingFlags struct {
	limits     serving.GRPCLimits
	maxStreams uint
	shutdown   *serving.Shutdown
	timeout    time.Duration
}

// register adds the flags; maxAge is the role's default --max-connection-age
// (0: connections are never aged out).
func (f *servingFlags) register(fs *flag.FlagSet, maxAge time.Duration) {
	fs.DurationVar(&f.timeout, "shutdown-timeout", time.Second, "on SIGTERM/SIGINT, how long the whole stop may take: draining calls in flight, flushing hits and returning tokens, closing; what is left at the deadline is cut and logged")
	fs.UintVar(&f.maxStreams, "max-concurrent-streams", 1024, "most calls one gRPC connection may have open at once (Envoy opens another connection past it)")
	fs.IntVar(&f.limits.MaxInflight, "max-inflight", 10_000, "most gRPC calls in progress over the server; a call over it is refused at once with ResourceExhausted \"over --max-inflight N\" and counted in grpc.inflight_refused")
	fs.IntVar(&f.limits.MaxRecvMsgSize, "max-recv-msg-size", 4<<20, "largest gRPC request in `bytes`; a larger one gets ResourceExhausted \"grpc: received message larger than max (SIZE vs. max-recv-msg-size)\"")
	fs.DurationVar(&f.limits.KeepaliveMinTime, "keepalive-min-time", 10*time.Second, "how often a gRPC client may ping; a client pinging more often is cut (GOAWAY too_many_pings)")
	fs.DurationVar(&f.limits.MaxConnectionAge, "max-connection-age", maxAge, "a gRPC connection older than this is asked to reconnect (GOAWAY), so that long-lived clients such as Envoy rebalance over new replicas; 0: never")
	fs.DurationVar(&f.limits.MaxConnectionAgeGrace, "max-connection-age-grace", 10*time.Second, "how long calls still running on an aged-out connection may take before it is closed")
}

// stop is the role's one shutdown deadline, the same for every step.
func (f *servingFlags) stop() *serving.Shutdown {
	if f.shutdown == nil {
		f.shutdown = serving.NewShutdown(f.timeout)
	}
	return f.shutdown
}

// options are the serving options of a role's server with grpc, the
// role's own gRPC options.
func (f *servingFlags) options(stats gostats.Scope, grpcOpts ...grpc.ServerOption) serving.Options {
	l := f.limits
	l.MaxConcurrentStreams = uint32(min(f.maxStreams, math.MaxUint32))
	return serving.Options{GRPC: grpcOpts, Limits: l, Shutdown: f.stop(), Stats: stats}
}

// recvAtLeast raises o's request limit to n: an engine must take the
// largest hit batch a replica sends (decisions.MaxHitBatchBytes), or the
// stream breaks and every hit in the batch is lost.
func recvAtLeast(o serving.Options, n int) serving.Options {
	if o.Limits.MaxRecvMsgSize < n {
		slog.Warn("--max-recv-msg-size raised to the largest hit batch a replica sends", "bytes", n)
		o.Limits.MaxRecvMsgSize = n
	}
	return o
}

// untilDeadline is what is left of ctx's deadline; a second without one.
func untilDeadline(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return time.Second
}
