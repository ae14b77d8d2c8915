package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// Serve runs the control plane: xDS on grpcLis, the admin API and status
// page on httpLis (nil: none), and Run. It returns when ctx is done, after
// stopping both servers and ending every stream, or when a listener fails.
func (s *Server) Serve(ctx context.Context, grpcLis, httpLis net.Listener) error {
	opts := []grpc.ServerOption{
		// Clients hold one stream open for hours; keepalives find dead ones.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	if s.opts.TLS.Enabled() {
		cfg, err := s.opts.TLS.ServerConfig(true)
		if err != nil {
			return fmt.Errorf("xds listener: %w", err)
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg)))
	}
	g := grpc.NewServer(opts...)
	s.Register(g)

	var hs *http.Server
	if httpLis != nil {
		hs = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
		if s.opts.AdminTLS.Enabled() {
			cfg, err := s.opts.AdminTLS.ServerConfig(false)
			if err != nil {
				return fmt.Errorf("admin listener: %w", err)
			}
			hs.TLSConfig = cfg
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errc <- s.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := g.Serve(grpcLis); err != nil {
			errc <- fmt.Errorf("xds listener: %w", err)
		}
	}()
	if hs != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if hs.TLSConfig != nil {
				err = hs.ServeTLS(httpLis, "", "")
			} else {
				err = hs.Serve(httpLis)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("admin listener: %w", err)
			}
		}()
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	s.Close() // ends the xDS streams, which Stop would otherwise wait on
	g.Stop()
	if hs != nil {
		shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hs.Shutdown(shutdownCtx)
		done()
	}
	wg.Wait()
	return err
}
