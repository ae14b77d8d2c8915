package load

import (
	"context"
	"errors"
	"time"
)

// Target is one server a sweep loads.
type Target struct {
	Name string // "baseline" is the reference the report compares with
	Addr string
}

// SweepOptions describe a side-by-side run of `floodgate bench`: every
// target at every concurrency, Rounds times, the targets alternating so
// that drift in the machine (a noisy neighbour, thermal throttling) hits
// every target alike.
type SweepOptions struct {
	Targets []Target
	// Workers are the concurrencies swept, in order.
	Workers []int
	// Rounds are runs per target and concurrency, merged into one row.
	// Default 1.
	Rounds int
	// Warmup is unmeasured load before each target's first run.
	Warmup time.Duration
	// Load is every run's load; Sweep sets its Addr and Workers.
	Load Options
}

func (o SweepOptions) withDefaults() SweepOptions {
	o.Rounds = max(o.Rounds, 1)
	return o
}

// Row is one target at one concurrency, over every round.
type Row struct {
	Target  string
	Workers int
	Result  *Result
}

// Sweep runs o and returns one Row per concurrency and target, in the
// order of o.Workers then o.Targets. It stops at the first failed run, or
// when ctx ends.
func Sweep(ctx context.Context, o SweepOptions) ([]Row, error) {
	o = o.withDefaults()
	if len(o.Targets) == 0 || len(o.Workers) == 0 {
		return nil, errors.New("sweep: give targets and concurrencies")
	}
	warm := make([]bool, len(o.Targets))
	var rows []Row
	for _, w := range o.Workers {
		merged := make([]*Result, len(o.Targets))
		for range o.Rounds {
			for i, tg := range o.Targets {
				run := o.Load
				run.Addr, run.Workers = tg.Addr, w
				if !warm[i] && o.Warmup > 0 {
					if err := warmUp(ctx, run, o.Warmup); err != nil {
						return nil, err
					}
				}
				warm[i] = true
				res, err := Run(ctx, run)
				if err != nil {
					return nil, err
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if merged[i] == nil {
					merged[i] = res
				} else {
					merged[i].Merge(res)
				}
			}
		}
		for i, tg := range o.Targets {
			rows = append(rows, Row{Target: tg.Name, Workers: w, Result: merged[i]})
		}
	}
	return rows, nil
}

// warmUp loads as run would, for d and whatever its Count.
func warmUp(ctx context.Context, run Options, d time.Duration) error {
	run.Duration, run.Count = d, 0
	_, err := Run(ctx, run)
	return err
}
