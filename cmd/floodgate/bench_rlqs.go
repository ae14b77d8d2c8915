package main

import (
	"context"
	"flag"
	"io"
	"time"

	"github.com/floodgate/floodgate/internal/load"
)

// rlqsBenchFlags configure `floodgate bench --rlqs N`.
type rlqsBenchFlags struct {
	envoys   int
	interval time.Duration
	demand   float64
	unit     string
}

func (f *rlqsBenchFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.envoys, "rlqs", 0, "RLQS load instead: `N` simulated Envoys on the rate_limit_quota filter, spread over --replicas replicas (and --engines engines) in this process, reporting --keys shared buckets of --limit a second each; prints admitted/limit per bucket and window and the process's CPU per 1 000 reported buckets")
	fs.DurationVar(&f.interval, "rlqs-interval", time.Second, "RLQS load: the Envoys' reporting interval (over 100ms)")
	fs.StringVar(&f.unit, "rlqs-unit", "second", "RLQS load: the buckets' window, second or minute (a run of a few windows then takes minutes)")
	fs.Float64Var(&f.demand, "rlqs-demand", 0, "RLQS load: requests a second per bucket per Envoy (0: the limit, so that N Envoys want N × the limit)")
}

// runRLQSBench runs the RLQS load the flags describe.
func runRLQSBench(ctx context.Context, w io.Writer, f *benchFlags) error {
	_, err := load.RLQS(ctx, w, load.RLQSOptions{Envoys: f.rlqs.envoys, Replicas: f.replicas, Engines: f.engines,
		Buckets: f.keys, Limit: f.limit, Unit: f.rlqs.unit, Demand: f.rlqs.demand, Interval: f.rlqs.interval, Duration: f.duration, Redis: f.redis})
	return err
}
