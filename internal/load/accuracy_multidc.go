package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/floodgate/floodgate/internal/delayproxy"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// MultiDCOptions describe a multi-datacenter accuracy run: Datacenters
// deployments in this process, each over a redis-server of its own, under
// one global limit in a further redis-server reached through a WAN proxy
// of WANDelay each way; one run per delay, or, PerDatacenter, one run
// with datacenter i WANDelays[i] away.
type MultiDCOptions struct {
	Datacenters       int // 3 when zero
	Engines, Replicas int // per datacenter; 2 each when zero
	Limit             uint64
	Workers           int // callers per datacenter; 16 when zero
	Duration          time.Duration
	WANDelays         []time.Duration // one way; 20ms when empty
	PerDatacenter     bool
	// Rate, when set, is requests a second across every datacenter, split
	// evenly between them (open loop): a gentle rate shows what the
	// datacenters admit when they want less than the limit. Zero: each
	// caller sends its next request when the last is answered.
	Rate   float64
	Logger *slog.Logger
}

// MultiDCRow is one run: what a global key admitted across every
// datacenter, the global tier's traffic, and the requests' latency.
type MultiDCRow struct {
	WANDelays []time.Duration // one way, per datacenter
	Limit     uint64
	Admitted  []uint64 // per datacenter
	Requests  uint64
	// Missed are the open loop's starts that found every caller of their
	// datacenter busy.
	Missed uint64
	// WANPerDC is the batches a datacenter's engines sent the global tier
	// a second, averaged over the datacenters.
	WANPerDC      float64
	P50, P99, Max time.Duration
}

// Shares are what each datacenter admitted over an equal share of the
// limit, Limit / datacenters.
func (r MultiDCRow) Shares() string {
	parts := make([]string, len(r.Admitted))
	for i, a := range r.Admitted {
		parts[i] = strconv.FormatFloat(float64(a)*float64(len(r.Admitted))/float64(r.Limit), 'f', 2, 64)
	}
	return strings.Join(parts, "/")
}

// delays is the row's WAN delays, one, or one per datacenter.
func (r MultiDCRow) delays() string {
	parts := make([]string, len(r.WANDelays))
	for i, d := range r.WANDelays {
		parts[i] = d.String()
	}
	if len(parts) > 1 && !slices.ContainsFunc(r.WANDelays, func(d time.Duration) bool { return d != r.WANDelays[0] }) {
		return parts[0]
	}
	return strings.Join(parts, "/")
}

// Total is what every datacenter admitted.
func (r MultiDCRow) Total() uint64 {
	var n uint64
	for _, a := range r.Admitted {
		n += a
	}
	return n
}

func (o MultiDCOptions) withDefaults() MultiDCOptions {
	if o.Datacenters <= 0 {
		o.Datacenters = 3
	}
	if o.Engines <= 0 {
		o.Engines = 2
	}
	if o.Replicas <= 0 {
		o.Replicas = 2
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if len(o.WANDelays) == 0 {
		o.WANDelays = []time.Duration{20 * time.Millisecond}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// MultiDCAccuracy runs o once per WAN delay and writes a table of the runs
// to w.
func MultiDCAccuracy(ctx context.Context, w io.Writer, o MultiDCOptions) ([]MultiDCRow, error) {
	o = o.withDefaults()
	if o.Limit == 0 || o.Limit > 1<<31 {
		return nil, fmt.Errorf("multi-datacenter accuracy: limit %d, want 1 to 2^31", o.Limit)
	}
	var runs [][]time.Duration
	if o.PerDatacenter {
		if len(o.WANDelays) != o.Datacenters {
			return nil, fmt.Errorf("multi-datacenter accuracy: %d WAN delays for %d datacenters, want one each", len(o.WANDelays), o.Datacenters)
		}
		runs = append(runs, o.WANDelays)
	} else {
		for _, d := range o.WANDelays {
			runs = append(runs, slices.Repeat([]time.Duration{d}, o.Datacenters))
		}
	}
	var rows []MultiDCRow
	for _, delays := range runs {
		r, err := multiDCRun(ctx, o, delays)
		if err != nil {
			return rows, err
		}
		fmt.Fprintf(w, "wan %v: admitted %d of %d (%.3f) %v, shares of L/%d %s; %.1f WAN batches/s per datacenter; p50 %v p99 %v\n",
			r.delays(), r.Total(), r.Limit, float64(r.Total())/float64(r.Limit), r.Admitted, len(r.Admitted), r.Shares(), r.WANPerDC, r.P50, r.P99)
		if r.Missed > 0 {
			fmt.Fprintf(w, "wan %v: %d starts missed, every caller of their datacenter busy: raise --workers\n", r.delays(), r.Missed)
		}
		rows = append(rows, r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WAN one way\tdatacenters\tlimit\tadmitted\tadmitted/limit\tshares of L/DCs\tWAN batches/s per DC\trequests\tp50\tp99\tmax")
	for _, r := range rows {
		fmt.Fprintf(tw, "%v\t%d\t%d\t%d\t%.3f\t%s\t%.1f\t%d\t%v\t%v\t%v\n", r.delays(), len(r.Admitted), r.Limit, r.Total(),
			float64(r.Total())/float64(r.Limit), r.Shares(), r.WANPerDC, r.Requests, r.P50, r.P99, r.Max)
	}
	return rows, tw.Flush()
}

// multiDCRun starts the datacenters, datacenter i delays[i] from the
// global tier, drives a fresh global key at full speed through every
// replica for o.Duration, and stops them all.
func multiDCRun(ctx context.Context, o MultiDCOptions, delays []time.Duration) (MultiDCRow, error) {
	row := MultiDCRow{WANDelays: delays, Limit: o.Limit, Admitted: make([]uint64, o.Datacenters)}
	snap, err := policy.Compile([]*policy.Config{{Domain: "bench", Descriptors: []policy.Descriptor{{Key: "global",
		RateLimit: &policy.RateLimit{Unit: "hour", RequestsPerUnit: uint32(o.Limit), Scope: "global"}}}}})
	if err != nil {
		return row, err
	}
	global, err := StartRedisServer(ctx)
	if err != nil {
		return row, err
	}
	defer global.Stop()
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	dcs := make([]*cluster.Cluster, o.Datacenters)
	stores := make([]gostats.Store, o.Datacenters)
	for i := range dcs {
		local, err := StartRedisServer(ctx)
		if err != nil {
			return row, err
		}
		stops = append(stops, local.Stop)
		wan, err := delayproxy.New(global.Addr, delays[i])
		if err != nil {
			return row, err
		}
		stops = append(stops, wan.Close)
		stores[i] = gostats.NewStore(gostats.NewNullSink(), false)
		c, err := cluster.Start(ctx, cluster.Options{Engines: o.Engines, Replicas: o.Replicas, Snapshot: snap,
			Redis: []string{local.URL()}, Datacenter: "dc" + strconv.Itoa(i), GlobalRedis: "redis://" + wan.Addr + "/0",
			Leases: replica.LeaseOptions{MaxReplicas: o.Datacenters * o.Replicas}, Stats: stores[i], Logger: o.Logger})
		if err != nil {
			return row, fmt.Errorf("datacenter %d: %w", i, err)
		}
		stops = append(stops, c.Close)
		dcs[i] = c
	}
	value := strconv.FormatInt(time.Now().UnixNano(), 36)
	if time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)) < o.Duration+2*time.Second {
		return row, errors.New("multi-datacenter accuracy: the hour's window ends within the run; run it again in a moment")
	}
	var hist Histogram
	var mu sync.Mutex
	var requests atomic.Uint64
	admitted := make([]atomic.Uint64, o.Datacenters)
	start := time.Now()
	until := start.Add(o.Duration)
	run, stop := context.WithDeadline(ctx, until)
	defer stop()
	var missed atomic.Uint64
	var wg sync.WaitGroup
	for d, c := range dcs {
		// next is when a caller's next request starts; false once the run
		// is over.
		next := func() bool { return run.Err() == nil }
		if o.Rate > 0 {
			starts := make(chan time.Time, o.Workers)
			go pace(run, o.Rate/float64(o.Datacenters), starts, &missed)
			next = func() bool {
				select {
				case <-starts:
					return true
				case <-run.Done():
					return false
				}
			}
		}
		for wi := range o.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var h Histogram
				cl := c.Client(wi % c.Replicas())
				req := &rlsv3.RateLimitRequest{Domain: "bench", Descriptors: []*commonrl.RateLimitDescriptor{
					{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: "global", Value: value}}}}}
				for next() {
					t0 := time.Now()
					rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					resp, err := cl.ShouldRateLimit(rctx, req)
					cancel()
					h.Record(time.Since(t0))
					requests.Add(1)
					if err == nil && resp.GetOverallCode() == rlsv3.RateLimitResponse_OK {
						admitted[d].Add(1)
					}
				}
				mu.Lock()
				hist.Merge(&h)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var batches uint64
	for i, s := range stores {
		row.Admitted[i] = admitted[i].Load()
		batches += s.NewCounter("global.grants").Value()
	}
	row.Requests, row.Missed = requests.Load(), missed.Load()
	row.WANPerDC = float64(batches) / elapsed / float64(o.Datacenters)
	row.P50, row.P99, row.Max = hist.Quantile(0.5), hist.Quantile(0.99), hist.Max()
	return row, nil
}
