package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// endpoints are the listeners of one role: a gRPC server and an HTTP server.
type endpoints struct {
	grpcAddr, httpAddr string
	grpc               *grpc.Server
	health             *health.Server
	mux                *http.ServeMux
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

// run serves until ctx is done, then drains both servers.
func (e *endpoints) run(ctx context.Context) error {
	gl, err := net.Listen("tcp", e.grpcAddr)
	if err != nil {
		return fmt.Errorf("grpc listener: %w", err)
	}
	var hl net.Listener
	if e.httpAddr != "" {
		if hl, err = net.Listen("tcp", e.httpAddr); err != nil {
			gl.Close()
			return fmt.Errorf("http listener: %w", err)
		}
	}
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
