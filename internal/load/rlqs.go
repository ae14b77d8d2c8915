package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/rlqs"
)

// RLQSOptions configure an RLQS load: simulated Envoys on the
// rate_limit_quota filter against the RLQS of a deployment's replicas.
type RLQSOptions struct {
	Envoys, Replicas, Engines int
	// Buckets is how many buckets every Envoy reports; all Envoys share
	// them, each limited to Limit per Unit (second or minute; second
	// when empty).
	Buckets int
	Limit   uint64
	Unit    string
	// Demand is each Envoy's requests a second per bucket; 0: the limit's
	// rate, so that the Envoys together want Envoys × the limit.
	Demand float64
	// Interval is the Envoys' reporting interval (over 100ms); Duration
	// the measured run, after a second's warm-up.
	Interval, Duration time.Duration
	Redis              string // the deployment's Redis; empty: in memory
}

// RLQSResult is what an RLQS load measured.
type RLQSResult struct {
	Windows int // whole one-second windows measured
	// MaxRatio and MeanRatio are admitted / limit over every (bucket,
	// window) measured.
	MaxRatio, MeanRatio float64
	// Reports are the bucket usages the Envoys sent in the measured run;
	// CPU the process's CPU time (server, engines and simulated Envoys)
	// over it.
	Reports uint64
	CPU     time.Duration
}

// CPUPer1000 is the process's CPU time per 1 000 bucket reports.
func (r *RLQSResult) CPUPer1000() time.Duration {
	if r.Reports == 0 {
		return 0
	}
	return time.Duration(float64(r.CPU) * 1000 / float64(r.Reports))
}

// RLQS runs o and prints what it measured to w.
func RLQS(ctx context.Context, w io.Writer, o RLQSOptions) (*RLQSResult, error) {
	if o.Envoys <= 0 || o.Buckets <= 0 || o.Limit == 0 || o.Limit > 1<<31 {
		return nil, errors.New("rlqs load: want Envoys, Buckets and a Limit of 1 to 2^31")
	}
	if o.Interval <= 100*time.Millisecond {
		return nil, fmt.Errorf("rlqs load: interval %v: Envoy's is over 100ms", o.Interval)
	}
	if o.Unit == "" {
		o.Unit = "second"
	}
	unit, ok := map[string]int64{"second": 1, "minute": 60}[o.Unit]
	if !ok {
		return nil, fmt.Errorf("rlqs load: unit %q: want second or minute", o.Unit)
	}
	if o.Demand <= 0 {
		o.Demand = float64(o.Limit) / float64(unit)
	}
	snap, err := policy.ParseSnapshot("rlqs.yaml", []byte("domain: bench\ndescriptors:\n  - key: bucket\n    rate_limit: {unit: "+o.Unit+", requests_per_unit: "+strconv.FormatUint(o.Limit, 10)+"}\n"))
	if err != nil {
		return nil, err
	}
	co := cluster.Options{Engines: max(1, o.Engines), Replicas: max(1, o.Replicas), Snapshot: snap, Logger: slog.New(slog.DiscardHandler)}
	if o.Redis != "" {
		co.Redis = []string{o.Redis}
	}
	c, err := cluster.Start(ctx, co)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	conns, stop, err := serveRLQS(c)
	if err != nil {
		return nil, err
	}
	defer stop()

	warmup := time.Second
	start := time.Now()
	windows := int((warmup+o.Duration)/time.Second)/int(unit) + 3
	counts := newWindowCounts(start, unit, windows, o.Buckets)
	var reports atomic.Uint64
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := range o.Envoys {
		e, err := newSimEnvoy(runCtx, conns[i%len(conns)], "bench", o.Buckets, o.Demand, counts, &reports)
		if err != nil {
			return nil, fmt.Errorf("rlqs load: Envoy %d: %w", i, err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); e.run(runCtx, o.Interval, 10*time.Millisecond) }()
	}
	fmt.Fprintf(w, "rlqs: %d Envoys on %d replicas (%d engines, %s), %d shared buckets of %d/"+o.Unit+", %.0f req/s per bucket per Envoy, %v reports, for %v\n",
		o.Envoys, c.Replicas(), co.Engines, busName(o.Redis), o.Buckets, o.Limit, o.Demand, o.Interval, o.Duration)
	time.Sleep(warmup)
	r0, cpu0 := reports.Load(), cpuTime()
	first := counts.window(time.Now()) + 1 // the first whole window
	time.Sleep(o.Duration)
	res := &RLQSResult{Reports: reports.Load() - r0, CPU: cpuTime() - cpu0}
	last := counts.window(time.Now()) // the window in progress: not whole
	cancel()
	wg.Wait()

	var sum float64
	n := 0
	for win := first; win < last; win++ {
		for b := range o.Buckets {
			ratio := float64(counts.get(win, b)) / float64(o.Limit)
			res.MaxRatio = max(res.MaxRatio, ratio)
			sum += ratio
			n++
		}
	}
	res.Windows = max(0, last-first)
	if n > 0 {
		res.MeanRatio = sum / float64(n)
	}
	fmt.Fprintf(w, "rlqs: %d whole windows × %d buckets: admitted/limit max %.4f, mean %.4f; %d bucket reports, CPU %v (%v per 1 000 reported buckets, server and simulated Envoys together)\n",
		res.Windows, o.Buckets, res.MaxRatio, res.MeanRatio, res.Reports, res.CPU.Round(time.Millisecond), res.CPUPer1000().Round(time.Microsecond))
	return res, nil
}

// serveRLQS serves the RLQS of every replica of c on a loopback port and
// returns a connection to each.
func serveRLQS(c *cluster.Cluster) ([]*grpc.ClientConn, func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	var conns []*grpc.ClientConn
	for i := range c.Replicas() {
		srv := rlqs.New(rlqs.Options{Service: c.Service(i), Leases: c.Limiter(i), Logger: slog.New(slog.DiscardHandler)})
		g := grpc.NewServer()
		srv.Register(g)
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stop()
			return nil, nil, err
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = g.Serve(lis) }()
		stops = append(stops, func() { srv.Stop(); g.Stop(); <-done })
		cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			stop()
			return nil, nil, err
		}
		stops = append(stops, func() { _ = cc.Close() })
		conns = append(conns, cc)
	}
	return conns, stop, nil
}

func busName(redis string) string {
	if redis == "" {
		return "in-memory bus and counters"
	}
	return "Redis " + redis
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
