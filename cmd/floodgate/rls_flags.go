package main

import (
	"context"
	"errors"
	"flag"
	"sync/atomic"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// rlsFlags are the flags of every role that answers ShouldRateLimit.
type rlsFlags struct {
	configs   listFlag
	watch     time.Duration
	grpcAddr  string
	httpAddr  string
	prefix    string
	shadow    bool
	nearRatio float64
	headers   ratelimit.HeaderOptions
	xds       xdsClientFlags
	stats     statsFlags
	log       logFlags
}

func (f *rlsFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.configs, "config", "policy `PATH` (file or directory; repeatable); none: the built-in examples")
	fs.DurationVar(&f.watch, "watch-interval", time.Second, "how often policy files are checked for changes")
	fs.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:8081", "gRPC `address` of the rate-limit service")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "HTTP `address` of /healthcheck, /json, /rlconfig and /metrics")
	fs.StringVar(&f.prefix, "key-prefix", "", "prefix of every counter key")
	fs.BoolVar(&f.shadow, "shadow-mode", false, "answer OK whatever the limits say, counting what would have been limited")
	fs.Float64Var(&f.nearRatio, "near-limit-ratio", 0.8, "fraction of a limit above which hits count as near_limit")
	fs.BoolVar(&f.headers.Enabled, "response-headers", false, "add RateLimit-Limit/-Remaining/-Reset headers to responses")
	fs.StringVar(&f.headers.Limit, "header-limit", "RateLimit-Limit", "name of the limit header")
	fs.StringVar(&f.headers.Remaining, "header-remaining", "RateLimit-Remaining", "name of the remaining header")
	fs.StringVar(&f.headers.Reset, "header-reset", "RateLimit-Reset", "name of the reset header")
	fs.StringVar(&f.headers.Policy, "header-policy", "", "name of the IETF policy header (e.g. RateLimit-Policy); empty: not sent")
	f.xds.register(fs)
	f.stats.register(fs)
	f.log.register(fs)
}

// startPolicies puts the first policies in force and keeps them current:
// from the control plane with --xds, else from the --config files
// (watched), else the built-in examples. It returns the policies in force.
func (f *rlsFlags) startPolicies(ctx context.Context, stats gostats.Scope, apply func(*policy.Snapshot), reject func()) (*policy.Snapshot, error) {
	if f.xds.enabled() {
		if len(f.configs) > 0 {
			return nil, errors.New("--xds and --config: take policies from one source")
		}
		var last atomic.Pointer[policy.Snapshot]
		_, err := f.xds.follow(ctx, stats, func(s *policy.Snapshot) { last.Store(s); apply(s) }, reject)
		return last.Load(), err
	}
	src := policySource{paths: f.configs.items(), interval: f.watch}
	snap, err := src.load()
	if err != nil {
		return nil, err
	}
	apply(snap)
	go src.watch(ctx, apply, reject)
	return snap, nil
}
