// Package load drives an RLS with ShouldRateLimit calls, as Envoy's
// ratelimit filter does, and measures throughput and latency. It backs
// `floodgate bench`.
package load

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// MaxDuration bounds every run, whatever it is asked.
const MaxDuration = 10 * time.Minute

// Options describe one run. A run stops at Duration or after Count
// requests, whichever comes first; at least one must be set.
type Options struct {
	Addr     string
	Conns    int // gRPC connections, requests spread round robin
	Workers  int // concurrent callers
	Duration time.Duration
	Count    uint64
	// Rate makes the run open-loop: requests start at this many a second
	// whatever the latency, and latency counts from the intended start so
	// that a stall is not hidden. 0 is closed-loop: each worker calls again
	// as soon as it has an answer.
	Rate float64
	// Domain and Entries are the descriptor sent; with Keys > 1 the last
	// entry's value gets a suffix 0..Keys-1, giving Keys distinct counters.
	Domain  string
	Entries []*ratelimitv3.RateLimitDescriptor_Entry
	Keys    int
	Timeout time.Duration // per call; 0 is 1s
}

// Result is what a run measured.
type Result struct {
	Requests  uint64
	Errors    uint64
	OverLimit uint64
	Missed    uint64 // open loop: starts skipped because every worker was busy
	Elapsed   time.Duration
	Latency   Histogram
	FirstErr  error
}

// Merge adds another run of the same load to r.
func (r *Result) Merge(o *Result) {
	r.Requests += o.Requests
	r.Errors += o.Errors
	r.OverLimit += o.OverLimit
	r.Missed += o.Missed
	r.Elapsed += o.Elapsed
	r.Latency.Merge(&o.Latency)
	if r.FirstErr == nil {
		r.FirstErr = o.FirstErr
	}
}

// Throughput is requests answered a second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (o *Options) check() error {
	switch {
	case o.Addr == "":
		return errors.New("no address to load")
	case o.Duration <= 0 && o.Count == 0:
		return errors.New("give a duration or a count")
	case o.Domain == "" || len(o.Entries) == 0:
		return errors.New("give a domain and a descriptor")
	}
	if o.Duration <= 0 || o.Duration > MaxDuration {
		o.Duration = MaxDuration
	}
	o.Conns = max(o.Conns, 1)
	o.Workers = max(o.Workers, 1)
	o.Keys = max(o.Keys, 1)
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	return nil
}

// requests builds one request per key up front: the load tool must not
// spend the CPU it is measuring.
func (o *Options) requests() []*rlsv3.RateLimitRequest {
	reqs := make([]*rlsv3.RateLimitRequest, o.Keys)
	for k := range reqs {
		entries := make([]*ratelimitv3.RateLimitDescriptor_Entry, len(o.Entries))
		for i, e := range o.Entries {
			entries[i] = &ratelimitv3.RateLimitDescriptor_Entry{Key: e.Key, Value: e.Value}
		}
		if o.Keys > 1 {
			last := entries[len(entries)-1]
			last.Value += strconv.Itoa(k)
		}
		reqs[k] = &rlsv3.RateLimitRequest{Domain: o.Domain,
			Descriptors: []*ratelimitv3.RateLimitDescriptor{{Entries: entries}}}
	}
	return reqs
}

// Run loads o.Addr and returns what it measured.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	addrs := make([]string, o.Conns)
	for i := range addrs {
		addrs[i] = o.Addr
	}
	clients, hangUp, err := dial(addrs)
	if err != nil {
		return nil, err
	}
	defer hangUp()
	reqs := o.requests()
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	end, _ := ctx.Deadline()
	// over reports the end of the run by the clock too: a call context made
	// just past the deadline fails at once, before ctx's own timer fires.
	over := func() bool { return ctx.Err() != nil || !time.Now().Before(end) }

	var issued atomic.Uint64
	// take reserves the next request; false once Count is reached.
	take := func() (uint64, bool) {
		n := issued.Add(1)
		return n - 1, o.Count == 0 || n <= o.Count
	}
	var starts chan time.Time
	var missed atomic.Uint64
	if o.Rate > 0 {
		starts = make(chan time.Time, o.Workers)
		go pace(ctx, o.Rate, starts, &missed)
	}

	results := make([]Result, o.Workers)
	var wg sync.WaitGroup
	begin := time.Now()
	for w := range o.Workers {
		wg.Add(1)
		go func(res *Result) {
			defer wg.Done()
			client := clients[w%len(clients)]
			for {
				start := time.Now()
				if starts != nil {
					select {
					case start = <-starts:
					case <-ctx.Done():
						return
					}
				}
				n, ok := take()
				if !ok || over() {
					return
				}
				call, done := context.WithTimeout(ctx, o.Timeout)
				resp, err := client.ShouldRateLimit(call, reqs[n%uint64(len(reqs))])
				done()
				if err != nil {
					if over() {
						return // the run ended mid-call; not the server's fault
					}
					res.Errors++
					if res.FirstErr == nil {
						res.FirstErr = err
					}
					continue
				}
				res.Latency.Record(time.Since(start))
				res.Requests++
				if resp.GetOverallCode() == rlsv3.RateLimitResponse_OVER_LIMIT {
					res.OverLimit++
				}
			}
		}(&results[w])
	}
	wg.Wait()
	total := &Result{Missed: missed.Load()}
	for i := range results {
		total.Merge(&results[i])
	}
	total.Elapsed = time.Since(begin)
	return total, nil
}

// dial opens one connection per address (an address may repeat); hangUp
// closes them all.
func dial(addrs []string) (clients []rlsv3.RateLimitServiceClient, hangUp func(), err error) {
	var conns []*grpc.ClientConn
	hangUp = func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for _, a := range addrs {
		conn, err := grpc.NewClient(a, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			hangUp()
			return nil, nil, fmt.Errorf("connect %s: %w", a, err)
		}
		conns = append(conns, conn)
		clients = append(clients, rlsv3.NewRateLimitServiceClient(conn))
	}
	return clients, hangUp, nil
}

// pace sends intended start times at rate per second; a start that finds
// every worker busy is counted as missed rather than queued without bound.
func pace(ctx context.Context, rate float64, starts chan<- time.Time, missed *atomic.Uint64) {
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	tick := time.NewTicker(min(interval, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for ; !next.After(now); next = next.Add(interval) {
				select {
				case starts <- next:
				default:
					missed.Add(1)
				}
			}
		}
	}
}
