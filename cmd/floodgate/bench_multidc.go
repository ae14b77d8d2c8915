package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/load"
)

// multiDCFlags turn --accuracy into the multi-datacenter case: a global
// limit over datacenters in this process, each its own Redis, under a
// global tier behind a delaying WAN proxy.
type multiDCFlags struct {
	datacenters int
	wanDelays   string
	perDC       bool
}

func (f *multiDCFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.datacenters, "datacenters", 0, "accuracy: run the multi-datacenter case instead: this many datacenters (each a redis-server of its own, --engines engines and --replicas replicas) under one scope: global limit of --limit an hour, in a global redis-server behind a WAN proxy")
	fs.StringVar(&f.wanDelays, "wan-delay", "0s,20ms,40ms", "accuracy with --datacenters: one-way delays between each datacenter and the global tier, one run each")
	fs.BoolVar(&f.perDC, "wan-per-datacenter", false, "accuracy with --datacenters: one run in which datacenter i is --wan-delay's i-th delay from the global tier (one delay per datacenter), to see how the datacenters share the limit")
}

// runMultiDC measures the multi-datacenter case.
func runMultiDC(ctx context.Context, w io.Writer, f *benchFlags) error {
	o := load.MultiDCOptions{Datacenters: f.multiDC.datacenters, Engines: f.engines, Replicas: f.replicas, Limit: f.limit,
		Duration: 3 * time.Second, PerDatacenter: f.multiDC.perDC}
	if f.set["duration"] {
		o.Duration = f.duration
	}
	o.Rate = f.rate
	if f.set["replicas"] {
		o.Replicas = f.replicas
	} else {
		o.Replicas = 2
	}
	if f.set["workers"] {
		workers, err := intList(f.workers.items(), 16)
		if err != nil || len(workers) != 1 {
			return fmt.Errorf("--workers %q: give one number for --accuracy", f.workers.String())
		}
		o.Workers = workers[0]
	}
	for _, s := range strings.Split(f.multiDC.wanDelays, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			return fmt.Errorf("--wan-delay %q: want durations like 0s,20ms,40ms", f.multiDC.wanDelays)
		}
		o.WANDelays = append(o.WANDelays, d)
	}
	_, err := load.MultiDCAccuracy(ctx, w, o)
	return err
}
