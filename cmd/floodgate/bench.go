package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
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
	engines  int
	unit     string
	modes    string
	small    uint64
	fault    string
	hostile  bool
	rlqs     rlqsBenchFlags
	multiDC  multiDCFlags
	// set names the flags given, so that --accuracy can tell its own
	// defaults from the sweep's.
	set map[string]bool
}

func (f *benchFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "", "gRPC `address` of a running RLS; empty: start one in this process (--start)")
	fs.StringVar(&f.start, "start", "async", "modes of the in-process Floodgate, each a target of its own: async (escrowed leases), async-report (--async-mode report) or exact; comma-separated")
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
	fs.BoolVar(&f.accuracy, "accuracy", false, "measure accuracy instead: --engines engines and --replicas async replicas in this process, in each of --modes and under each --fault, keys limited to --limit and --small-limit; closed loop unless --rate (defaults then: --duration 2s, --rounds 1)")
	fs.IntVar(&f.replicas, "replicas", 3, "accuracy: RLS replicas")
	fs.IntVar(&f.engines, "engines", 2, "accuracy: engines")
	f.multiDC.register(fs)
	fs.Uint64Var(&f.limit, "limit", 2000, "accuracy: the cold and warm keys' limit (per --unit)")
	fs.Uint64Var(&f.small, "small-limit", 20, "accuracy: the small key's limit (0: no small case)")
	fs.StringVar(&f.unit, "unit", "minute", "accuracy: the limits' window, minute or hour")
	fs.StringVar(&f.modes, "modes", "report,lease", "accuracy: async admission modes measured side by side, each in a deployment of its own")
	fs.StringVar(&f.fault, "fault", "none", "accuracy: none, engine-kill or redis-restart, or a comma-separated list, each a case set of its own: a fault strikes the cold case a third into its run (engine-kill stops engine 0; redis-restart runs a redis-server of its own, found in PATH, and restarts it empty)")
	fs.DurationVar(&f.interval, "interval", 20*time.Millisecond, "accuracy: the replicas' report interval and the engines' flush interval")
	fs.BoolVar(&f.hostile, "hostile", false, "send hostile request shapes instead (invalid UTF-8, NUL bytes, unknown override unit, hits_addend 2^32-1, 10 000 descriptors, 5 000 entries, 1 MiB value and domain, garbage), --count times each (default 150), built from --domain and --descriptor, to --addr (any RLS) or the first --start mode, and print how each was answered")
	f.rlqs.register(fs)
	fs.StringVar(&f.cpuProf, "cpuprofile", "", "write a CPU profile of the whole run (load and in-process targets) to `FILE`")
}

// runBench loads an RLS, and a constant-OK baseline beside it, and prints
// both side by side.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var f benchFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	stopProfile, err := startCPUProfile(f.cpuProf)
	if err != nil {
		return err
	}
	defer stopProfile()
	if f.hostile {
		return runHostile(ctx, os.Stdout, &f)
	}
	if f.rlqs.envoys > 0 {
		return runRLQSBench(ctx, os.Stdout, &f)
	}
	if f.accuracy && f.multiDC.datacenters > 0 {
		return runMultiDC(ctx, os.Stdout, &f)
	}
	if f.accuracy {
		rows, err := runAccuracy(ctx, os.Stdout, &f)
		if err == nil && f.csvPath != "" {
			err = load.WriteAccuracyCSV(f.csvPath, rows)
		}
		return err
	}
	sweep, err := f.sweep()
	if err != nil {
		return err
	}
	targets, stop, err := f.targets(ctx)
	if err != nil {
		return err
	}
	defer stop()
	sweep.Targets = targets
	rows, err := load.Sweep(ctx, sweep)
	if err != nil {
		return err
	}
	load.PrintRows(os.Stdout, rows)
	if f.csvPath != "" {
		return load.WriteCSV(f.csvPath, rows)
	}
	return nil
}

// sweep is the load the flags describe, without its targets.
func (f *benchFlags) sweep() (load.SweepOptions, error) {
	workers, err := intList(f.workers.items(), 64)
	if err != nil {
		return load.SweepOptions{}, fmt.Errorf("--workers: %w", err)
	}
	d, err := parseDescriptor(f.desc)
	if err != nil {
		return load.SweepOptions{}, err
	}
	return load.SweepOptions{Workers: workers, Rounds: f.rounds, Warmup: f.warmup,
		Load: load.Options{Conns: f.conns, Duration: f.duration, Count: f.count, Rate: f.rate, Keys: f.keys,
			Domain: f.domain, Entries: d.Entries}}, nil
}

// startCPUProfile profiles the whole run into path, if one is given.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); out.Close() }, nil
}

// targets starts what the run loads: the baseline first, so that each
// concurrency is measured on it and then on Floodgate back to back.
func (f *benchFlags) targets(ctx context.Context) ([]load.Target, func(), error) {
	var targets []load.Target
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
		targets = append(targets, load.Target{Name: "baseline", Addr: addr})
	}
	if f.addr != "" {
		return append(targets, load.Target{Name: "floodgate", Addr: f.addr}), stopAll, nil
	}
	for _, mode := range (listFlag{f.start}).items() {
		addr, stop, err := startInProcess(ctx, mode, f.configs.items(), f.redis)
		if err != nil {
			stopAll()
			return nil, nil, err
		}
		stops = append(stops, stop)
		targets = append(targets, load.Target{Name: "floodgate-" + mode, Addr: addr})
	}
	return targets, stopAll, nil
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
