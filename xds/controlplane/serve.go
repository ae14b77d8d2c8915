package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/internal/tlsfiles"
)

// Serve runs the control plane: xDS on grpcLis, the admin API and status
// page on httpLis (nil: none), and Run. It returns when ctx is done, after
// ending every stream and stopping both servers, or when a listener fails.
func (s *Server) Serve(ctx context.Context, grpcLis, httpLis net.Listener) error {
	opts := s.GRPCServerOptions()
	if s.opts.TLS.Enabled() {
		cfg, err := s.opts.TLS.ServerConfig(tlsfiles.ServerOptions{Options: s.tlsOptions()})
		if err != nil {
			return fmt.Errorf("xds listener: %w", err)
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg)))
	}
	adminTLS, err := s.adminTLSConfig()
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	if httpLis != nil {
		s.warnPlainAdmin(httpLis.Addr())
	}
	srv := serving.New(serving.Options{GRPC: opts, HTTPTLS: adminTLS, Limits: s.opts.Limits, Shutdown: s.opts.Shutdown, Stats: s.opts.Stats})
	s.Register(srv.GRPC)
	setServing(srv.Health)
	srv.Mux.Handle("/", s.Handler())
	// The xDS streams last as long as their clients: end them, or the
	// graceful stop would wait for them until its deadline.
	srv.BeforeStop(s.Close)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		err := s.Run(ctx)
		cancel() // a Run that ends stops the servers too
		ran <- err
	}()
	err = srv.Serve(ctx, serving.Listeners{GRPC: grpcLis, HTTP: httpLis})
	cancel()
	return errors.Join(err, <-ran)
}

// adminTLSConfig is the HTTP listener's TLS, nil when AdminTLS is off.
func (s *Server) adminTLSConfig() (*tls.Config, error) {
	if !s.opts.AdminTLS.Enabled() {
		return nil, nil
	}
	return s.opts.AdminTLS.ServerConfig(tlsfiles.ServerOptions{Options: s.tlsOptions(), ClientAuth: tlsfiles.VerifyClientCertIfGiven})
}

// tlsOptions keep both listeners' files current, counted with the
// server's stats.
func (s *Server) tlsOptions() tlsfiles.Options {
	return tlsfiles.Options{Stats: s.opts.Stats, Logger: s.log}
}
