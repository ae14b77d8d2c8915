package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/ratelimit"
)

// endpoints are the listeners of one role: a gRPC server and an HTTP server.
type endpoints struct {
	grpcAddr, httpAddr string
	grpc               *grpc.Server
	health             *health.Server
	mux                *http.ServeMux
	gl, hl             net.Listener
	// beforeStop run, in order, once ctx is done and before the servers
	// drain: parts whose streams would hold a graceful stop open end first.
	beforeStop []func()
}

func newEndpoints(grpcAddr, httpAddr string, opts ...grpc.ServerOption) *endpoints {
	e := &endpoints{
		grpcAddr: grpcAddr,
		httpAddr: httpAddr,
		grpc:     grpc.NewServer(opts...),
		health:   health.NewServer(),
		mux:      http.NewServeMux(),
	}
	healthpb.RegisterHealthServer(e.grpc, e.health)
	return e
}

// rlsStreamWorkers is the pool of goroutines that run RLS calls. A call
// that finds every worker busy gets a goroutine of its own, whose stack
// grows from scratch: the pool is sized for the calls Envoy keeps in
// flight, not for the cores.
const rlsStreamWorkers = 256

// rlsServerOptions tune the gRPC server of the RLS for many small unary
// calls: responses marshalled by generated code, and reused goroutines.
func rlsServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(ratelimit.Codec{}),
		grpc.NumStreamWorkers(rlsStreamWorkers),
	}
}

// listen binds both addresses; after it, grpcBound is the real address
// (useful with port 0).
func (e *endpoints) listen() error {
	gl, err := net.Listen("tcp", e.grpcAddr)
	if err != nil {
		return fmt.Errorf("grpc listener: %w", err)
	}
	e.gl = gl
	if e.httpAddr != "" {
		if e.hl, err = net.Listen("tcp", e.httpAddr); err != nil {
			gl.Close()
			return fmt.Errorf("http listener: %w", err)
		}
	}
	return nil
}

// release closes the listeners; after run it is a no-op, as the servers
// have closed them.
func (e *endpoints) release() {
	for _, l := range []net.Listener{e.gl, e.hl} {
		if l != nil {
			l.Close()
		}
	}
}

// loopbackGRPC is the address another part of this process dials to reach
// the gRPC listener: a wildcard host becomes 127.0.0.1.
func (e *endpoints) loopbackGRPC() string {
	a := e.gl.Addr().(*net.TCPAddr)
	if a.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	return a.String()
}

// run serves until ctx is done, then drains both servers.
func (e *endpoints) run(ctx context.Context) error {
	if e.gl == nil {
		if err := e.listen(); err != nil {
			return err
		}
	}
	gl, hl := e.gl, e.hl
	var err error
	errc := make(chan error, 2)
	go func() { errc <- e.grpc.Serve(gl) }()
	slog.Info("grpc listening", "addr", gl.Addr().String())
	hs := &http.Server{Handler: e.mux, ReadHeaderTimeout: 10 * time.Second}
	if hl != nil {
		go func() { errc <- hs.Serve(hl) }()
		slog.Info("http listening", "addr", hl.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	e.health.Shutdown()
	for _, f := range e.beforeStop {
		f()
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutdown)
	stopped := make(chan struct{})
	go func() { e.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-shutdown.Done():
		e.grpc.Stop()
	}
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return err
}
