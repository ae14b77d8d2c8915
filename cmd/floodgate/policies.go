package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/examples"
	"github.com/floodgate/floodgate/policy"
)

// policyFlags say where a role's policies come from.
type policyFlags struct {
	configs listFlag
	load    loadFlags
	watch   time.Duration
	drop    dropGuardFlags
	xds     xdsClientFlags
	early   startFlags
}

func (f *policyFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.configs, "config", "policy `PATH` (file or directory; repeatable); none: the built-in examples")
	f.load.register(fs, "strict-config")
	fs.DurationVar(&f.watch, "watch-interval", time.Second, "how often policy files are checked for changes")
	f.drop.register(fs)
	f.xds.register(fs)
	f.early.register(fs)
}

// dropGuardFlags say how many domains a reload of the policy files may
// remove (policy.DropGuard).
type dropGuardFlags struct {
	allow bool
	max   float64
}

func (f *dropGuardFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.allow, "allow-policy-drop", false, "apply a policy reload that removes every domain or more than --max-policy-drop of them, and start on a --config path that holds no policy")
	fs.Float64Var(&f.max, "max-policy-drop", policy.DefaultMaxDropFraction, "largest `fraction` (0..1] of the domains in force one policy reload may remove; a larger drop is refused and the last good policies keep serving")
}

func (f dropGuardFlags) guard() (policy.DropGuard, error) {
	if f.max <= 0 || f.max > 1 {
		return policy.DropGuard{}, fmt.Errorf("--max-policy-drop %v: want a fraction in (0, 1]", f.max)
	}
	return policy.DropGuard{AllowDrop: f.allow, MaxDropFraction: f.max}, nil
}

// start puts the first policies in force and keeps them current:
// from the control plane with --xds, else from the --config files
// (watched), else the built-in examples. It returns the policies in force.
func (f *policyFlags) start(ctx context.Context, stats gostats.Scope, apply func(*policy.Snapshot), reject func()) (*policy.Snapshot, error) {
	if f.xds.enabled() {
		if len(f.configs) > 0 {
			return nil, errors.New("--xds and --config: take policies from one source")
		}
		var last atomic.Pointer[policy.Snapshot]
		x := f.xds
		if f.early.force {
			x.wait = 0
		}
		_, err := x.follow(ctx, stats, func(s *policy.Snapshot) { last.Store(s); apply(s) }, reject)
		return last.Load(), err
	}
	paths := f.configs.items()
	if len(paths) == 0 {
		snap, err := examples.Snapshot()
		if err != nil {
			return nil, err
		}
		apply(snap)
		return snap, nil
	}
	guard, err := f.drop.guard()
	if err != nil {
		return nil, err
	}
	opts := policy.WatchOptions{Paths: paths, Load: f.load.options(), Interval: f.watch, Guard: guard}
	if f.early.force {
		// The first load counts as a reload from nothing: paths that hold
		// no policy yet start the role, and a later file is taken.
		opts.InForce = []string{}
	}
	return watchFiles(ctx, opts, apply, reject)
}

// watchFiles puts the files' policies in force and keeps them current
// until ctx is done; a bad first load stops the role from starting, a bad
// later change is logged and counted by reject.
func watchFiles(ctx context.Context, opts policy.WatchOptions, apply func(*policy.Snapshot), reject func()) (*policy.Snapshot, error) {
	return policy.StartWatch(ctx, opts, func(s *policy.Snapshot) {
		slog.Info("policies loaded", "paths", opts.Paths, "domains", len(s.Configs()))
		logWarnings(s)
		apply(s)
	}, func(err error) {
		slog.Error("policies rejected; the last good ones keep serving", "error", err)
		reject()
	})
}
