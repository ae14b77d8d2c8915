package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/tokenfile"
	"github.com/floodgate/floodgate/xds/controlplane"
)

// controlPlaneStatusFlags configure what the control plane shares through
// its store (nodes, audit log) and where its admin token comes from.
type controlPlaneStatusFlags struct {
	name         string
	nodeExpiry   time.Duration
	auditEntries int
	tokenFile    string
}

func (f *controlPlaneStatusFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "`name` of this control plane on /v1/status and in the audit log; default: host name/pid")
	fs.DurationVar(&f.nodeExpiry, "node-expiry", controlplane.DefaultNodeExpiry,
		"how long a node that left, or whose control plane stopped, stays on /v1/status")
	fs.IntVar(&f.auditEntries, "audit-entries", controlplane.DefaultAuditEntries, "admin writes the audit log keeps (GET /v1/audit), oldest dropped first")
	fs.StringVar(&f.tokenFile, "admin-token-file", "", "`file` of admin tokens, one a line, re-read when it changes; "+
		"unlike --admin-token, not visible to ps")
}

// apply sets o's fields from the flags, opening the token file.
func (f *controlPlaneStatusFlags) apply(o *controlplane.ServerOptions, scope stats.Scope) error {
	if f.nodeExpiry <= 0 {
		return errors.New("--node-expiry: must be positive")
	}
	if f.auditEntries <= 0 {
		return errors.New("--audit-entries: must be positive")
	}
	o.Name, o.NodeExpiry, o.AuditEntries = f.name, f.nodeExpiry, f.auditEntries
	if f.tokenFile != "" {
		tokens, err := tokenfile.Open(f.tokenFile, tokenfile.Options{Stats: scope, Logger: slog.Default()})
		if err != nil {
			return fmt.Errorf("--admin-token-file: %w", err)
		}
		o.AdminTokens = tokens
	}
	return nil
}
