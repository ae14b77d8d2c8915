package main

import (
	"context"
	"errors"
	"flag"
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
	watch   time.Duration
	xds     xdsClientFlags
}

func (f *policyFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.configs, "config", "policy `PATH` (file or directory; repeatable); none: the built-in examples")
	fs.DurationVar(&f.watch, "watch-interval", time.Second, "how often policy files are checked for changes")
	f.xds.register(fs)
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
		_, err := f.xds.follow(ctx, stats, func(s *policy.Snapshot) { last.Store(s); apply(s) }, reject)
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
	return watchFiles(ctx, paths, f.watch, apply, reject)
}

// watchFiles puts the files' policies in force and keeps them current
// until ctx is done. The watcher's first load is the start-up load: a role
// refuses to start on a bad policy rather than serve without one; after
// that a bad change is logged and counted by reject while the last good
// policies keep serving.
func watchFiles(ctx context.Context, paths []string, interval time.Duration, apply func(*policy.Snapshot), reject func()) (*policy.Snapshot, error) {
	type firstLoad struct {
		snap *policy.Snapshot
		err  error
	}
	first := make(chan firstLoad, 1)
	started := false // touched only by the watcher's goroutine
	parent := ctx
	ctx, stop := context.WithCancel(parent)
	go policy.Watch(ctx, paths, interval, func(s *policy.Snapshot) {
		slog.Info("policies loaded", "paths", paths, "domains", len(s.Configs()))
		apply(s)
		if !started {
			started = true
			first <- firstLoad{snap: s}
		}
	}, func(err error) {
		if !started {
			started = true
			first <- firstLoad{err: err}
			return
		}
		slog.Error("policies rejected; the last good ones keep serving", "error", err)
		reject()
	})
	select {
	case l := <-first:
		if l.err != nil {
			stop()
			return nil, l.err
		}
		context.AfterFunc(parent, stop) // the watcher lives as long as the role
		return l.snap, nil
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
}
