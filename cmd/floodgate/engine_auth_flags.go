package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"

	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/internal/tlsfiles"
	"github.com/floodgate/floodgate/internal/tokenfile"
)

// engineAuthFlags say which replicas an engine accepts.
type engineAuthFlags struct {
	tokenFile string
	allowed   listFlag
}

func (f *engineAuthFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.tokenFile, "engine-token-file", "", "`file` of the bearer tokens replicas must send (one a line; re-read when it changes)")
	fs.Var(&f.allowed, "allowed-replicas", "`NAME[,NAME]`: replicas accepted by their mTLS client certificate (common name, DNS or URI SAN); needs --tls-client-ca")
}

// serverOptions refuse the engine RPCs of replicas the flags do not
// accept. With neither flag every caller is accepted, as before engines
// had authentication, with a warning when that caller may be anyone.
func (f *engineAuthFlags) serverOptions(tlsFlags grpcTLSFlags, grpcAddr string, stats gostats.Scope) ([]grpc.ServerOption, error) {
	subjects := f.allowed.items()
	if len(subjects) > 0 && tlsFlags.files.CAFile == "" {
		return nil, errors.New("--allowed-replicas: replicas are named by verified client certificates: give --tls-client-ca (and --tls-cert, --tls-key)")
	}
	o := decisions.ReplicaAuthOptions{Subjects: subjects, Stats: stats, Logger: slog.Default()}
	if f.tokenFile != "" {
		tokens, err := tokenfile.Open(f.tokenFile, tokenfile.Options{Stats: stats, Logger: slog.Default()})
		if err != nil {
			return nil, fmt.Errorf("--engine-token-file: %w", err)
		}
		o.Tokens = tokens
	}
	auth := decisions.NewReplicaAuth(o)
	if !auth.Enabled() {
		if !isLoopback(grpcAddr) {
			slog.Warn("engine accepts hits and lease asks from any caller: give --engine-token-file or --allowed-replicas", "grpc_addr", grpcAddr)
		}
		return nil, nil
	}
	return auth.ServerOptions(), nil
}

// engineClientFlags say how a replica reaches its engines.
type engineClientFlags struct {
	tls       tlsfiles.Files
	tokenFile string
}

func (f *engineClientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.tls.CAFile, "engine-ca", "", "CA `file` that signed the engines' certificates (enables TLS to engines; re-read when it changes)")
	fs.StringVar(&f.tls.CertFile, "engine-cert", "", "client certificate `file` presented to engines (mTLS)")
	fs.StringVar(&f.tls.KeyFile, "engine-key", "", "client key `file` presented to engines")
	fs.StringVar(&f.tls.ServerName, "engine-server-name", "", "`name` to verify the engines' certificates against (default: the host dialed)")
	fs.StringVar(&f.tokenFile, "engine-token-file", "", "`file` whose first line is the bearer token sent to engines (re-read when it changes)")
}

// dialOptions are the engine connections' credentials; nil for
// plaintext without a token.
func (f *engineClientFlags) dialOptions(groups [][]string, stats gostats.Scope) ([]grpc.DialOption, error) {
	if !f.tls.Enabled() && f.tokenFile == "" {
		return nil, nil
	}
	creds := insecure.NewCredentials()
	if f.tls.Enabled() {
		c, err := f.tls.ClientCredentials(tlsOptions(stats))
		if err != nil {
			return nil, fmt.Errorf("--engine-ca/--engine-cert/--engine-key: %w", err)
		}
		creds = c
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if f.tokenFile != "" {
		loopback := allLoopback(groups)
		if !f.tls.Enabled() && !loopback {
			return nil, errors.New("--engine-token-file: the token would cross the network in the clear: give --engine-ca to dial engines over TLS")
		}
		tokens, err := tokenfile.Open(f.tokenFile, tokenfile.Options{Stats: stats, Logger: slog.Default()})
		if err != nil {
			return nil, fmt.Errorf("--engine-token-file: %w", err)
		}
		opts = append(opts, grpc.WithPerRPCCredentials(tokenfile.Bearer{File: tokens, Loopback: !f.tls.Enabled() && loopback}))
	}
	return opts, nil
}

// isLoopback reports whether addr (host:port) is reachable from this host
// only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func allLoopback(groups [][]string) bool {
	for _, g := range groups {
		for _, a := range g {
			if !isLoopback(a) {
				return false
			}
		}
	}
	return true
}

// serverOptions adds to so what secures the engine's servers: TLS on both
// listeners and the replica check.
func (f *engineFlags) serverOptions(so serving.Options, stats gostats.Scope) (serving.Options, error) {
	if err := f.tls.apply(&so, stats); err != nil {
		return so, err
	}
	auth, err := f.auth.serverOptions(f.tls.grpc, f.grpcAddr, stats)
	so.GRPC = append(so.GRPC, auth...)
	return so, err
}
