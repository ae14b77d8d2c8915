package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/load"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// runAccuracy measures how closely multi-replica async deployments hold a
// limit, one deployment per admission mode: engines and replicas in this
// process, on loopback ports, over an in-memory bus or the --redis broker,
// or over a redis-server of the run's own under --fault redis-restart.
func runAccuracy(ctx context.Context, w io.Writer, f *benchFlags) ([]load.AccuracyRow, error) {
	o, err := f.accuracyOptions()
	if err != nil {
		return nil, err
	}
	return load.DeploymentAccuracy(ctx, w, o)
}

// accuracyOptions maps the flags onto an accuracy run. --duration and
// --rounds default to what suits a sweep unless given, so they take the
// accuracy run's own defaults here.
func (f *benchFlags) accuracyOptions() (load.DeploymentAccuracyOptions, error) {
	o := load.DeploymentAccuracyOptions{Engines: f.engines, Replicas: f.replicas, Redis: f.redis, Interval: f.interval,
		Unit: f.unit, Limit: f.limit, SmallLimit: f.small, Rate: f.rate, Duration: f.duration, Runs: f.rounds}
	if !f.set["duration"] {
		o.Duration = 2 * time.Second
	}
	if !f.set["rounds"] {
		o.Runs = 1
	}
	for _, m := range strings.Split(f.modes, ",") {
		mode, err := replica.ParseMode(strings.TrimSpace(m))
		if err != nil || strings.TrimSpace(m) == "" {
			return o, fmt.Errorf("--modes %q: want report, lease or both", f.modes)
		}
		o.Modes = append(o.Modes, mode)
	}
	workers, err := intList(f.workers.items(), 64)
	if err != nil || len(workers) != 1 {
		return o, fmt.Errorf("--workers %q: give one number for --accuracy", f.workers.String())
	}
	o.Workers = workers[0]
	if o.Faults, err = load.ParseFaults(f.fault); err != nil {
		return o, fmt.Errorf("--fault: %w", err)
	}
	if f.redis != "" && slices.Contains(o.Faults, load.FaultRedisRestart) {
		return o, errors.New("--fault redis-restart runs a redis-server of its own: drop --redis")
	}
	return o, nil
}
