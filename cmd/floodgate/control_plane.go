package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/floodgate/floodgate/xds"
	"github.com/floodgate/floodgate/xds/controlplane"
)

// runControlPlane serves policies over xDS, with the admin API and status
// page on HTTP.
func runControlPlane(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("control-plane", flag.ContinueOnError)
	var configs listFlag
	fs.Var(&configs, "config", "policy `PATH` (file or directory; repeatable), watched")
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:18000", "xDS gRPC `address`")
	httpAddr := fs.String("http-addr", "127.0.0.1:18080", "HTTP `address` of the admin API, /v1/status and /metrics")
	storeURL := fs.String("store", "file:floodgate-policies.json", "where admin API writes are kept: redis://... (shared by control-plane replicas), file:PATH, or memory:")
	token := fs.String("admin-token", "", "bearer `token` that authorizes admin API writes; empty: writes need a verified client certificate")
	var tlsFiles, adminTLS xds.TLSFiles
	fs.StringVar(&tlsFiles.CertFile, "xds-cert", "", "TLS certificate `file` of the xDS listener")
	fs.StringVar(&tlsFiles.KeyFile, "xds-key", "", "TLS key `file` of the xDS listener")
	fs.StringVar(&tlsFiles.CAFile, "xds-ca", "", "CA `file`: xDS clients must present a certificate it signed (mTLS)")
	fs.StringVar(&adminTLS.CertFile, "admin-cert", "", "TLS certificate `file` of the HTTP listener")
	fs.StringVar(&adminTLS.KeyFile, "admin-key", "", "TLS key `file` of the HTTP listener")
	fs.StringVar(&adminTLS.CAFile, "admin-ca", "", "CA `file`: a client certificate it signed authorizes admin writes")
	var sf statsFlags
	var lf logFlags
	sf.register(fs)
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := lf.install(); err != nil {
		return err
	}
	stats, prom, err := sf.open(ctx)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	store, err := controlplane.OpenStore(*storeURL)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	defer store.Close()
	srv, err := controlplane.NewServer(ctx, controlplane.ServerOptions{
		Paths:      configs.items(),
		Store:      store,
		AdminToken: *token,
		TLS:        tlsFiles,
		AdminTLS:   adminTLS,
		Stats:      stats,
		Logger:     slog.Default(),
		Metrics:    prom.Handler(stats.Flush),
	})
	if err != nil {
		return err
	}
	gl, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		return fmt.Errorf("--grpc-addr: %w", err)
	}
	hl, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		gl.Close()
		return fmt.Errorf("--http-addr: %w", err)
	}
	slog.Info("control plane serving", "xds", gl.Addr().String(), "http", hl.Addr().String(), "version", srv.Version())
	return srv.Serve(ctx, gl, hl)
}
