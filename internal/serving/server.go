package serving

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Options configure a Server; the zero value serves plain gRPC and HTTP.
type Options struct {
	// GRPC are the gRPC server's options: codec, workers, keepalive,
	// credentials.
	GRPC []grpc.ServerOption
	// HTTPTLS, when set, makes the HTTP listener serve HTTPS.
	HTTPTLS *tls.Config
	// Drain bounds the graceful stop of both servers once serving ends;
	// streams still open after it are cut. Default 5s.
	Drain time.Duration
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout bound how long an HTTP
	// connection may take to send a request's headers (default 5s), the
	// whole request (default 10s), and how long it may stay open between
	// requests (default 30s): a client that sends slowly, or not at all,
	// must not hold connections open.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Drain <= 0 {
		o.Drain = 5 * time.Second
	}
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
}

// New returns a Server with the gRPC health service registered.
func New(o Options) *Server {
	o = o.withDefaults()
	s := &Server{
		GRPC:   grpc.NewServer(o.GRPC...),
		Health: health.NewServer(),
		Mux:    http.NewServeMux(),
		opts:   o,
	}
	healthpb.RegisterHealthServer(s.GRPC, s.Health)
	return s
}

// BeforeStop adds f to what runs, in the order added, once serving ends and
// before the servers drain: parts whose streams would hold a graceful stop
// open (a hit reporter, the xDS streams) end there.
func (s *Server) BeforeStop(f func()) { s.beforeStop = append(s.beforeStop, f) }

// Serve serves on l until ctx is done or a server fails, then reports
// NOT_SERVING, runs the BeforeStop steps and drains both servers within
// Options.Drain. It returns the failure, or nil when ctx ended it.
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
	s.Health.Shutdown()
	for _, f := range s.beforeStop {
		f()
	}
	s.drain(hs)
	return err
}

// drain stops both servers gracefully, cutting what is left at the
// deadline.
func (s *Server) drain(hs *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Drain)
	defer cancel()
	_ = hs.Shutdown(ctx)
	stopGRPC(ctx, s.GRPC)
}

// stopGRPC stops g gracefully, cutting the streams still open when ctx
// ends, and returns once g has stopped.
func stopGRPC(ctx context.Context, g *grpc.Server) {
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		g.Stop()
		<-stopped
	}
}
