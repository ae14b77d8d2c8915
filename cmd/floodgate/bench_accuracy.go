package main

import (
	"context"
	"io"

	"github.com/floodgate/floodgate/internal/load"
)

// runAccuracy measures how closely a multi-replica async deployment holds
// a limit: an engine and --replicas replicas in this process, on loopback
// ports, over an in-memory bus or the --redis broker.
func runAccuracy(ctx context.Context, w io.Writer, f *benchFlags) (*load.AccuracyResult, error) {
	return load.DeploymentAccuracy(ctx, w, load.DeploymentAccuracyOptions{Replicas: f.replicas, Redis: f.redis,
		Interval: f.interval, Limit: f.limit, Rate: f.rate, Duration: f.duration})
}
