package serving

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	stats "github.com/lyft/gostats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/nullstats"
)

// Options configure a Server; the zero value serves plain gRPC and HTTP.
type Options struct {
	// GRPC are the gRPC server's options: codec, workers, keepalive,
	// credentials.
	GRPC []grpc.ServerOption
	// HTTPTLS, when set, makes the HTTP listener serve HTTPS.
	HTTPTLS *tls.Config
	// Shutdown is the deadline the role's whole stop shares; Serve starts
	// it when serving ends and drains within it, cutting what is still
	// open at the deadline. Nil: a Shutdown of Drain.
	Shutdown *Shutdown
	// Drain is the timeout of the Shutdown made when Shutdown is nil.
	// Default 1s.
	Drain time.Duration
	// Limits bound the gRPC server's streams, calls in flight, message
	// sizes and connections.
	Limits GRPCLimits
	// Stats receives the gRPC server's grpc.inflight gauge and
	// grpc.inflight_refused counter; nil: discarded.
	Stats stats.Scope
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout bound how long an HTTP
	// connection may take to send a request's headers (default 5s), the
	// whole request (default 10s), and how long it may stay open between
	// requests (default 30s): a client that sends slowly, or not at all,
	// must not hold connections open.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Shutdown == nil {
		o.Shutdown = NewShutdown(o.Drain)
	}
	o.Limits = o.Limits.withDefaults()
	o.Stats = nullstats.Or(o.Stats)
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	return o
}

// Server is one role's gRPC and HTTP servers. Register services on GRPC,
// handlers on Mux and serving statuses on Health before Serve.
type Server struct {
	GRPC   *grpc.Server
	Health *health.Server
	Mux    *http.ServeMux

	opts       Options
	beforeStop []func()
	streams    *streamEnder
}

// New returns a Server with the gRPC health service registered.
func New(o Options) *Server {
	o = o.withDefaults()
	streams := newStreamEnder()
	gate := newInflightGate(o.Limits.MaxInflight, o.Stats.Scope("grpc"))
	// The role's own options come last: where they set the same thing as
	// the limits, theirs stands.
	opts := append(o.Limits.serverOptions(),
		grpc.ChainUnaryInterceptor(gate.unary),
		grpc.ChainStreamInterceptor(gate.stream, streams.intercept))
	s := &Server{
		GRPC:    grpc.NewServer(append(opts, o.GRPC...)...),
		Health:  health.NewServer(),
		Mux:     http.NewServeMux(),
		opts:    o,
		streams: streams,
	}
	healthpb.RegisterHealthServer(s.GRPC, s.Health)
	return s
}

// BeforeStop adds f to what runs, in the order added, once serving ends and
// before the servers drain: parts whose streams would hold a graceful stop
// open (a hit reporter, the xDS streams) end there.
func (s *Server) BeforeStop(f func()) { s.beforeStop = append(s.beforeStop, f) }

// Serve serves on l until ctx is done or a server fails, then starts the
// Shutdown deadline, reports NOT_SERVING, runs the BeforeStop steps, ends
// the streams still open and drains both servers by the deadline. It
// returns the failure, or nil when ctx ended it.
func (s *Server) Serve(ctx context.Context, l Listeners) error {
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	defer wg.Wait() // both Serve calls return once drain has closed their listeners
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.GRPC.Serve(l.GRPC); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			errc <- fmt.Errorf("grpc server: %w", err)
		}
	}()
	hs := &http.Server{Handler: s.Mux, TLSConfig: s.opts.HTTPTLS,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout, ReadTimeout: s.opts.ReadTimeout, IdleTimeout: s.opts.IdleTimeout}
	if l.HTTP != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if hs.TLSConfig != nil {
				err = hs.ServeTLS(l.HTTP, "", "")
			} else {
				err = hs.Serve(l.HTTP)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http server: %w", err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.opts.Shutdown.Start()
	s.Health.Shutdown()
	for _, f := range s.beforeStop {
		f()
	}
	s.streams.stop()
	s.drain(hs)
	return err
}

// drain stops both servers gracefully, together, cutting what is left at
// the deadline.
func (s *Server) drain(hs *http.Server) {
	ctx, cancel := s.opts.Shutdown.Context()
	defer cancel()
	httpDone := make(chan struct{})
	go func() { defer close(httpDone); _ = hs.Shutdown(ctx) }()
	if !stopGRPC(ctx, s.GRPC) {
		slog.Warn("shutdown: gRPC calls still running at the deadline were cut", "timeout", s.opts.Shutdown.Timeout)
	}
	<-httpDone
	if ctx.Err() != nil {
		_ = hs.Close()
	}
}

// stopGRPC stops g gracefully, cutting the calls still open when ctx
// ends, and returns once g has stopped: false when it cut some.
func stopGRPC(ctx context.Context, g *grpc.Server) bool {
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
		return true
	case <-ctx.Done():
		g.Stop()
		<-stopped
		return false
	}
}
