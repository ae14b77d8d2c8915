package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/floodgate/floodgate/internal/tlsfiles"
	xdsclient "github.com/floodgate/floodgate/xds/client"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/policy"
)

// xdsClientFlags make a role take its policies from the control plane
// instead of files.
type xdsClientFlags struct {
	addrs  listFlag
	nodeID string
	typ    string
	tls    tlsfiles.Files
	wait   time.Duration
}

func (f *xdsClientFlags) register(fs *flag.FlagSet) {
	host, _ := os.Hostname()
	fs.Var(&f.addrs, "xds", "control-plane `ADDR[,ADDR]` to take policies from (instead of --config), tried in order")
	fs.StringVar(&f.nodeID, "node-id", host, "this process's xDS node id")
	fs.StringVar(&f.typ, "xds-type", "floodgate", "resource to subscribe to: floodgate (every feature) or standard (ratelimit.config.ratelimit.v3.RateLimitConfig)")
	fs.StringVar(&f.tls.CAFile, "xds-ca", "", "CA `file` that signed the control plane's certificate (enables TLS)")
	fs.StringVar(&f.tls.CertFile, "xds-cert", "", "client certificate `file` for mTLS")
	fs.StringVar(&f.tls.KeyFile, "xds-key", "", "client key `file` for mTLS")
	fs.StringVar(&f.tls.ServerName, "xds-server-name", "", "name to verify the control plane's certificate against")
	fs.DurationVar(&f.wait, "xds-wait", 10*time.Second, "how long to wait for the first policies before serving without them")
}

func (f *xdsClientFlags) enabled() bool { return len(f.addrs.items()) > 0 }

// follow subscribes to the control plane; every good version goes to apply
// and every rejected one to reject. It returns once the first version is in
// force, or after --xds-wait with none: the process then serves what it
// has (no limits) until the control plane answers.
func (f *xdsClientFlags) follow(ctx context.Context, stats gostats.Scope, apply func(*policy.Snapshot), reject func()) (*xdsclient.Client, error) {
	typeURL, err := xdsclient.TypeURLNamed(f.typ)
	if err != nil {
		return nil, fmt.Errorf("--xds-type: %w", err)
	}
	c, err := xdsclient.New(xdsclient.Options{
		Addrs:   f.addrs.items(),
		NodeID:  f.nodeID,
		TypeURL: typeURL,
		TLS:     f.tls,
		Apply:   apply,
		Reject:  func(error) { reject() },
		Stats:   stats,
		Logger:  slog.Default(),
	})
	if err != nil {
		return nil, fmt.Errorf("--xds: %w", err)
	}
	c.Start(ctx)
	if c.WaitReady(ctx, f.wait) {
		slog.Info("policies received over xDS", "version", c.Version())
	} else if ctx.Err() == nil {
		slog.Warn("no policies from the control plane yet; serving without limits until they arrive", "xds", f.addrs.items())
	}
	return c, nil
}
