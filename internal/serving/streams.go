package serving

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errServerStopping ends the streams a stopping server still has open;
// clients take it as any broken stream and go to another server.
var errServerStopping = status.Error(codes.Unavailable, "server stopping: use another server")

// streamEnder ends every stream still open once the server stops: a
// stream no part of the role ends itself (a gRPC health Watch, a client's
// own long call) would otherwise hold the graceful stop until its
// deadline. Unary calls are left to finish.
type streamEnder struct {
	stopping context.Context
	stop     context.CancelFunc
}

func newStreamEnder() *streamEnder {
	ctx, cancel := context.WithCancel(context.Background())
	return &streamEnder{stopping: ctx, stop: cancel}
}

func (e *streamEnder) intercept(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	unhook := context.AfterFunc(e.stopping, cancel)
	defer unhook()
	err := h(srv, endableStream{ss, ctx})
	if e.stopping.Err() != nil && ss.Context().Err() == nil && (errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled) {
		return errServerStopping
	}
	return err
}

// endableStream is a stream whose context also ends when the server stops.
type endableStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s endableStream) Context() context.Context { return s.ctx }
