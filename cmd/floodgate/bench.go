package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/floodgate/floodgate/internal/load"
)

// benchFlags configure `floodgate bench`.
type benchFlags struct {
	addr     string
	start    string
	configs  listFlag
	baseline bool
	conns    int
	workers  listFlag
	duration time.Duration
	count    uint64
	rate     float64
	keys     int
	domain   string
	desc     string
	csvPath  string
	warmup   time.Duration
	rounds   int
	cpuProf  string
	redis    string
	accuracy bool
	replicas int
	limit    uint64
	interval time.Duration
}

// runBench loads an RLS, and a constant-OK baseline beside it, and prints
// both side by side.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var f benchFlags
	fs.StringVar(&f.addr, "addr", "", "gRPC `address` of a running RLS; empty: start one in this process (--start)")
	fs.StringVar(&f.start, "start", "async", "mode of the in-process Floodgate: async or exact")
	fs.Var(&f.configs, "config", "policy `PATH` for the in-process Floodgate; none: the built-in examples")
	fs.StringVar(&f.redis, "redis", "", "Redis `URL` for the in-process Floodgate (exact mode counts there)")
	fs.BoolVar(&f.baseline, "baseline", true, "also load a constant-OK server in this process and print ratios")
	fs.IntVar(&f.conns, "conns", 4, "gRPC connections")
	fs.Var(&f.workers, "workers", "concurrent callers; a comma-separated list sweeps them (default 64)")
	fs.DurationVar(&f.duration, "duration", 5*time.Second, "length of each run (at most 10m)")
	fs.Uint64Var(&f.count, "count", 0, "stop each run after this many requests (0: by duration)")
	fs.Float64Var(&f.rate, "rate", 0, "open loop: requests a second (0: closed loop)")
	fs.IntVar(&f.keys, "keys", 1, "distinct keys, by suffixing the descriptor's last value")
	fs.StringVar(&f.domain, "domain", "api", "domain of the requests")
	fs.StringVar(&f.desc, "descriptor", "remote_address=10.0.0.1", "descriptor of the requests, `k=v,k2=v2`")
	fs.StringVar(&f.csvPath, "csv", "", "also write the results as CSV to `FILE` (for docs/plot.sh)")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "unmeasured load before each target's first run")
	fs.IntVar(&f.rounds, "rounds", 3, "runs per target and concurrency, alternating targets; their results are merged so that drift in the machine hits every target alike")
	fs.BoolVar(&f.accuracy, "accuracy", false, "measure accuracy instead: --replicas async replicas and an engine in this process, one key limited to --limit, driven at --rate")
	fs.IntVar(&f.replicas, "replicas", 3, "accuracy: RLS replicas")
	fs.Uint64Var(&f.limit, "limit", 1000, "accuracy: the key's limit (per hour)")
	fs.DurationVar(&f.interval, "interval", 20*time.Millisecond, "accuracy: the replicas' report interval and the engine's flush interval")
	fs.StringVar(&f.cpuProf, "cpuprofile", "", "write a CPU profile of the whole run (load and in-process targets) to `FILE`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.cpuProf != "" {
		out, err := os.Create(f.cpuProf)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if f.accuracy {
		_, err := runAccuracy(ctx, os.Stdout, &f)
		return err
	}
	workers, err := intList(f.workers.items(), 64)
	if err != nil {
		return fmt.Errorf("--workers: %w", err)
	}
	d, err := parseDescriptor(f.desc)
	if err != nil {
		return err
	}

	targets, stop, err := f.targets(ctx)
	if err != nil {
		return err
	}
	defer stop()

	var rows []benchRow
	for _, w := range workers {
		merged := make([]*load.Result, len(targets))
		for round := 0; round < max(f.rounds, 1); round++ {
			for i, tg := range targets {
				o := load.Options{Addr: tg.addr, Conns: f.conns, Workers: w, Duration: f.duration, Count: f.count,
					Rate: f.rate, Keys: f.keys, Domain: f.domain, Entries: d.Entries}
				if !tg.warm && f.warmup > 0 {
					warm := o
					warm.Duration, warm.Count = f.warmup, 0
					if _, err := load.Run(ctx, warm); err != nil {
						return err
					}
					tg.warm = true
				}
				res, err := load.Run(ctx, o)
				if err != nil {
					return err
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if merged[i] == nil {
					merged[i] = res
				} else {
					merged[i].Merge(res)
				}
			}
		}
		for i, tg := range targets {
			rows = append(rows, benchRow{target: tg.name, workers: w, res: merged[i]})
		}
	}
	printBench(os.Stdout, rows)
	if f.csvPath != "" {
		return writeBenchCSV(f.csvPath, rows)
	}
	return nil
}

type benchTarget struct {
	name string
	addr string
	warm bool
}

// targets starts what the run loads: the baseline first, so that each
// concurrency is measured on it and then on Floodgate back to back.
func (f *benchFlags) targets(ctx context.Context) ([]*benchTarget, func(), error) {
	var targets []*benchTarget
	var stops []func()
	stopAll := func() {
		for _, s := range stops {
			s()
		}
	}
	if f.baseline {
		addr, stop, err := load.StartBaseline("127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("baseline: %w", err)
		}
		stops = append(stops, stop)
		targets = append(targets, &benchTarget{name: "baseline", addr: addr})
	}
	if f.addr != "" {
		return append(targets, &benchTarget{name: "floodgate", addr: f.addr}), stopAll, nil
	}
	addr, stop, err := startInProcess(ctx, f.start, f.configs.items(), f.redis)
	if err != nil {
		stopAll()
		return nil, nil, err
	}
	stops = append(stops, stop)
	return append(targets, &benchTarget{name: "floodgate-" + f.start, addr: addr}), stopAll, nil
}

type benchRow struct {
	target  string
	workers int
	res     *load.Result
}

func printBench(w io.Writer, rows []benchRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tworkers\treq/s\tp50\tp90\tp99\tp99.9\terrors\tover_limit\tmissed\t")
	for _, r := range rows {
		l := &r.res.Latency
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%v\t%v\t%v\t%d\t%d\t%d\t\n", r.target, r.workers, r.res.Throughput(),
			round(l.Quantile(0.5)), round(l.Quantile(0.9)), round(l.Quantile(0.99)), round(l.Quantile(0.999)),
			r.res.Errors, r.res.OverLimit, r.res.Missed)
	}
	tw.Flush()
	if peak, ok := baselinePeak(rows); ok {
		for _, r := range rows {
			if r.workers != peak.workers || r.target == "baseline" {
				continue
			}
			fmt.Fprintf(w, "\nat the baseline's peak (%d workers): %s/baseline throughput %.2f, p99 %.2f\n",
				peak.workers, r.target, r.res.Throughput()/peak.res.Throughput(),
				float64(r.res.Latency.Quantile(0.99))/float64(peak.res.Latency.Quantile(0.99)))
		}
	}
	for _, r := range rows {
		if r.res.FirstErr != nil {
			fmt.Fprintf(w, "%s, %d workers: first error: %v\n", r.target, r.workers, r.res.FirstErr)
		}
	}
}

// baselinePeak is the baseline's run with the highest throughput.
func baselinePeak(rows []benchRow) (benchRow, bool) {
	var peak benchRow
	found := false
	for _, r := range rows {
		if r.target == "baseline" && (!found || r.res.Throughput() > peak.res.Throughput()) {
			peak, found = r, true
		}
	}
	return peak, found
}

func writeBenchCSV(path string, rows []benchRow) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(file)
	w.Write([]string{"target", "workers", "rps", "p50_us", "p90_us", "p99_us", "p999_us", "errors"})
	us := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) }
	for _, r := range rows {
		l := &r.res.Latency
		w.Write([]string{r.target, strconv.Itoa(r.workers), strconv.FormatFloat(r.res.Throughput(), 'f', 0, 64),
			us(l.Quantile(0.5)), us(l.Quantile(0.9)), us(l.Quantile(0.99)), us(l.Quantile(0.999)),
			strconv.FormatUint(r.res.Errors, 10)})
	}
	w.Flush()
	return errors.Join(w.Error(), file.Close())
}

func intList(items []string, def int) ([]int, error) {
	if len(items) == 0 {
		return []int{def}, nil
	}
	out := make([]int, len(items))
	for i, s := range items {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", s)
		}
		out[i] = n
	}
	return out, nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d > time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	}
	return d
}
