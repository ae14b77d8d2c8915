package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/floodgate/floodgate/internal/tlsfiles"
	"github.com/floodgate/floodgate/xds/controlplane"
)

// controlPlaneFlags configure the xDS control plane.
type controlPlaneFlags struct {
	configs            listFlag
	load               loadFlags
	drop               dropGuardFlags
	grpcAddr, httpAddr string
	storeURL           string
	token              string
	tls                grpcTLSFlags
	adminTLS           tlsfiles.Files
	stats              statsFlags
	log                logFlags
	serving            servingFlags
	status             controlPlaneStatusFlags
	dashboard          dashboardFlags
	datacenter         datacenterFlag
	global             controlPlaneGlobalFlags
}

func (f *controlPlaneFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.configs, "config", "policy `PATH` (file or directory; repeatable), watched")
	f.datacenter.register(fs)
	f.load.register(fs, "strict-config")
	f.drop.register(fs)
	fs.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:18000", "xDS gRPC `address`")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:18080", "HTTP `address` of the admin API, /v1/status, /metrics and the dashboard (/ui/)")
	fs.StringVar(&f.storeURL, "store", "file:floodgate-policies.json", "where admin API writes are kept: redis://... (shared by control-plane replicas), file:PATH, or memory:")
	fs.StringVar(&f.token, "admin-token", "", "bearer `token` that authorizes admin API writes; empty: writes need a verified client certificate")
	f.registerTLS(fs)
	fs.StringVar(&f.adminTLS.CertFile, "admin-cert", "", "TLS certificate `file` of the HTTP listener")
	fs.StringVar(&f.adminTLS.KeyFile, "admin-key", "", "TLS key `file` of the HTTP listener")
	fs.StringVar(&f.adminTLS.CAFile, "admin-ca", "", "CA `file`: a client certificate it signed authorizes admin writes")
	f.stats.register(fs)
	f.log.register(fs)
	f.serving.register(fs, xdsMaxConnectionAge)
	f.status.register(fs)
	f.dashboard.register(fs)
	f.global.register(fs)
}

// runControlPlane serves policies over xDS, with the admin API and status
// page on HTTP.
func runControlPlane(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("control-plane", flag.ContinueOnError)
	var f controlPlaneFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.log.install(); err != nil {
		return err
	}
	f.datacenter.install()
	stats, prom, err := f.stats.open(ctx)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	guard, err := f.drop.guard()
	if err != nil {
		return err
	}
	store, err := controlplane.OpenStore(f.storeURL)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	defer store.Close()
	var srv *controlplane.Server
	routes, stopDashboard, err := f.dashboard.controlPlaneRoutes(ctx, func() *controlplane.Server { return srv }, stats, f.global.redis != "")
	if err != nil {
		return err
	}
	defer stopDashboard()
	opts := controlplane.ServerOptions{
		Paths:      f.configs.items(),
		Load:       f.load.options(),
		DropGuard:  guard,
		Store:      store,
		AdminToken: f.token,
		TLS:        f.tls.files,
		AdminTLS:   f.adminTLS,
		Stats:      stats,
		Logger:     slog.Default(),
		Metrics:    prom.Handler(stats.Flush),
		Routes:     routes,
		Limits:     f.serving.options(nil).Limits,
		Shutdown:   f.serving.stop(),
	}
	if err := f.status.apply(&opts, stats); err != nil {
		return err
	}
	closeGlobal, err := f.global.apply(&opts)
	if err != nil {
		return err
	}
	defer closeGlobal()
	srv, err = controlplane.NewServer(ctx, opts)
	if err != nil {
		return err
	}
	prom.Registry.MustRegister(srv.StatusCollector())
	return f.serve(ctx, srv)
}

// serve binds the flags' addresses and runs srv on them.
func (f *controlPlaneFlags) serve(ctx context.Context, srv *controlplane.Server) error {
	gl, err := net.Listen("tcp", f.grpcAddr)
	if err != nil {
		return fmt.Errorf("--grpc-addr: %w", err)
	}
	hl, err := net.Listen("tcp", f.httpAddr)
	if err != nil {
		gl.Close()
		return fmt.Errorf("--http-addr: %w", err)
	}
	slog.Info("control plane serving", "xds", gl.Addr().String(), "http", hl.Addr().String(), "version", srv.Version())
	return srv.Serve(ctx, gl, hl)
}
