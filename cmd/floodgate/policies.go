package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sync/atomic"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/examples"
	"github.com/floodgate/floodgate/policy"
)

// policyFlags say where a role's policies come from.
type policyFlags struct {
	configs listFlag
	watch   time.Duration
	xds     xdsClientFlags
}

func (f *policyFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.configs, "config", "policy `PATH` (file or directory; repeatable); none: the built-in examples")
	fs.DurationVar(&f.watch, "watch-interval", time.Second, "how often policy files are checked for changes")
	f.xds.register(fs)
}

// startPolicies puts the first policies in force and keeps them current:
// from the control plane with --xds, else from the --config files
// (watched), else the built-in examples. It returns the policies in force.
func (f *policyFlags) start(ctx context.Context, stats gostats.Scope, apply func(*policy.Snapshot), reject func()) (*policy.Snapshot, error) {
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

// policySource is where a role's policies come from: files (watched), or
// the examples built into the binary when none are given.
type policySource struct {
	paths    []string
	interval time.Duration
}

// load reads and compiles the policies once; a role refuses to start on a
// bad policy rather than serve without one.
func (p policySource) load() (*policy.Snapshot, error) {
	if len(p.paths) == 0 {
		return embeddedPolicies()
	}
	return policy.LoadSnapshot(p.paths...)
}

// watch reloads changed files until ctx is done; a bad reload is logged and
// counted by reject while the last good snapshot keeps serving.
func (p policySource) watch(ctx context.Context, apply func(*policy.Snapshot), reject func()) {
	if len(p.paths) == 0 {
		return
	}
	policy.Watch(ctx, p.paths, p.interval, func(s *policy.Snapshot) {
		slog.Info("policies loaded", "paths", p.paths, "domains", len(s.Configs()))
		apply(s)
	}, func(err error) {
		slog.Error("policies rejected; the last good ones keep serving", "error", err)
		reject()
	})
}

func embeddedPolicies() (*policy.Snapshot, error) {
	entries, err := fs.ReadDir(examples.Policies, "policies")
	if err != nil {
		return nil, err
	}
	var configs []*policy.Config
	for _, e := range entries {
		name := path.Join("policies", e.Name())
		data, err := fs.ReadFile(examples.Policies, name)
		if err != nil {
			return nil, err
		}
		c, err := policy.Parse("examples/"+name, data)
		if err != nil {
			return nil, fmt.Errorf("built-in example: %w", err)
		}
		configs = append(configs, c)
	}
	return policy.Compile(configs)
}
