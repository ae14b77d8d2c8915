package serving

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// localBuffer is the bytes in flight each way on one in-process connection.
const localBuffer = 1 << 20

// Local is a gRPC server that only this process can reach: it listens on
// an in-memory listener, not on a port. A role that talks to another part
// of itself over gRPC (the all-in-one process's replica streaming hits to
// its engine) serves that part here, so that it is not exposed, without
// authentication, on the role's public port.
type Local struct {
	GRPC *grpc.Server

	lis     *bufconn.Listener
	started atomic.Bool
	done    chan struct{}
}

// NewLocal returns a Local server; register services on GRPC, then Start.
func NewLocal(opts ...grpc.ServerOption) *Local {
	return &Local{GRPC: grpc.NewServer(opts...), lis: bufconn.Listen(localBuffer), done: make(chan struct{})}
}

// Start serves until Stop.
func (l *Local) Start() {
	l.started.Store(true)
	go func() {
		defer close(l.done)
		_ = l.GRPC.Serve(l.lis)
	}()
}

// Target is the address a client of the Local server dials, with
// DialOptions.
func (l *Local) Target() string { return "passthrough:///in-process" }

// DialOptions connect a gRPC client to the Local server.
func (l *Local) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
}

// Stop stops the server gracefully, cutting the streams still open after
// drain, and waits for Start's goroutine to end. Stop before Start only
// closes the listener.
func (l *Local) Stop(drain time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	_ = stopGRPC(ctx, l.GRPC)
	_ = l.lis.Close()
	if l.started.Load() {
		<-l.done
	}
}
