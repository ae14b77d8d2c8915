package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
)

// AccuracyOptions describe an accuracy run: one key with a known limit,
// driven through several replicas in turn.
type AccuracyOptions struct {
	Addrs   []string // the replicas
	Domain  string
	Entries []*ratelimitv3.RateLimitDescriptor_Entry
	Limit   uint64 // the key's requests_per_unit; its window must outlast the run
	// Rate is requests a second (open loop); 0 is closed loop, every
	// worker calling again as soon as it has an answer.
	Rate     float64
	Duration time.Duration
	Workers  int // callers; 0 is 64
	// Warm requests are sent before the timed run, spread evenly over
	// WarmOver and round robin over the replicas, so that the run meets a
	// key the deployment already knows. They count towards the window.
	Warm     uint64
	WarmOver time.Duration
	// Fault, if set, is called once, FaultAt into the timed run, while the
	// load goes on; the run waits for it to return and fails if it fails.
	Fault   func(context.Context) error
	FaultAt time.Duration
}

// AccuracyResult is what an accuracy run saw.
type AccuracyResult struct {
	// Sent, Admitted and Errors are the timed run's; WarmSent and
	// WarmAdmitted the warm-up's.
	Sent, Admitted, Errors uint64
	WarmSent, WarmAdmitted uint64
	Limit                  uint64
	// Elapsed is the timed run, from its first request to its last answer.
	Elapsed time.Duration
	// Delay is from the moment the limit was crossed (the request after the
	// limit-th was sent) to the moment the last replica answered OVER_LIMIT.
	// Negative values cannot occur; -1 means some replica never enforced.
	Delay time.Duration
	// PerReplica is each replica's delay, in the order of Addrs.
	PerReplica []time.Duration
	// FaultAt is how far into the timed run the fault struck; 0 without
	// one.
	FaultAt time.Duration
}

// InWindow is every request the window admitted, warm-up included.
func (r *AccuracyResult) InWindow() uint64 { return r.Admitted + r.WarmAdmitted }

// AdmittedRatio is admitted requests in the window over the limit: 1.0 is
// exact.
func (r *AccuracyResult) AdmittedRatio() float64 { return float64(r.InWindow()) / float64(r.Limit) }

// Throughput is the timed run's requests a second.
func (r *AccuracyResult) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// callTimeout bounds a request that outlives its run: the run waits for
// its answer rather than cancel it, since a cancelled request the server
// admitted would go uncounted.
const callTimeout = 5 * time.Second

// Accuracy runs one accuracy measurement.
func Accuracy(ctx context.Context, o AccuracyOptions) (*AccuracyResult, error) {
	if len(o.Addrs) == 0 || o.Limit == 0 || o.Rate < 0 || o.Duration <= 0 {
		return nil, errors.New("accuracy: give replicas, a limit and a duration")
	}
	o.Duration = min(o.Duration, MaxDuration)
	if o.Workers <= 0 {
		o.Workers = 64
	}
	clients, hangUp, err := dial(o.Addrs)
	if err != nil {
		return nil, err
	}
	defer hangUp()
	req := &rlsv3.RateLimitRequest{Domain: o.Domain, Descriptors: []*ratelimitv3.RateLimitDescriptor{{Entries: o.Entries}}}
	res := &AccuracyResult{Limit: o.Limit, PerReplica: make([]time.Duration, len(clients))}
	res.WarmSent, res.WarmAdmitted, res.Errors = warmKey(ctx, clients, req, o.Warm, o.WarmOver)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	begin := time.Now()
	run, stop := context.WithTimeout(ctx, o.Duration)
	defer stop()
	var starts chan time.Time
	var missed atomic.Uint64
	if o.Rate > 0 {
		starts = make(chan time.Time, o.Workers)
		go pace(run, o.Rate, starts, &missed)
	}
	// next is when the worker's next request starts; false once the run
	// is over.
	next := func() (time.Time, bool) {
		if starts == nil {
			return time.Now(), run.Err() == nil
		}
		select {
		case s := <-starts:
			return s, true
		case <-run.Done():
			return time.Time{}, false
		}
	}

	// The limit is crossed by the request that takes the window past it,
	// warm-up included.
	crossing := o.Limit - min(o.Limit, res.WarmSent)
	var (
		seq       atomic.Uint64
		admitted  atomic.Uint64
		failed    atomic.Uint64
		mu        sync.Mutex
		crossedAt time.Time
		firstOver = make([]time.Time, len(clients))
	)
	if res.WarmSent > o.Limit {
		crossedAt = begin
	}
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start, ok := next()
				if !ok {
					return
				}
				n := seq.Add(1) - 1
				replica := int(n % uint64(len(clients)))
				if n == crossing {
					mu.Lock()
					crossedAt = start
					mu.Unlock()
				}
				call, cancel := context.WithTimeout(ctx, callTimeout)
				resp, err := clients[replica].ShouldRateLimit(call, req)
				cancel()
				switch {
				case err != nil:
					if ctx.Err() == nil {
						failed.Add(1)
					}
				case resp.GetOverallCode() == rlsv3.RateLimitResponse_OVER_LIMIT:
					mu.Lock()
					if firstOver[replica].IsZero() || start.Before(firstOver[replica]) {
						firstOver[replica] = start
					}
					mu.Unlock()
				default:
					admitted.Add(1)
				}
			}
		}()
	}
	faultErr := strike(ctx, o, begin, &res.FaultAt)
	wg.Wait()
	res.Elapsed = time.Since(begin)
	res.Sent, res.Admitted, res.Errors = seq.Load(), admitted.Load(), res.Errors+failed.Load()
	if err := <-faultErr; err != nil {
		return nil, fmt.Errorf("fault: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if crossedAt.IsZero() {
		return res, fmt.Errorf("accuracy: only %d requests sent, never crossed the limit of %d: raise --rate or --duration", res.Sent+res.WarmSent, o.Limit)
	}
	for i, t := range firstOver {
		switch {
		case t.IsZero():
			res.PerReplica[i], res.Delay = -1, -1
			continue
		case t.Before(crossedAt):
			res.PerReplica[i] = 0
		default:
			res.PerReplica[i] = t.Sub(crossedAt)
		}
		if res.Delay >= 0 {
			res.Delay = max(res.Delay, res.PerReplica[i])
		}
	}
	return res, nil
}

// strike calls o.Fault, if any, o.FaultAt after begin, records when it
// did in at, and sends what it returned.
func strike(ctx context.Context, o AccuracyOptions, begin time.Time, at *time.Duration) <-chan error {
	done := make(chan error, 1)
	if o.Fault == nil {
		done <- nil
		return done
	}
	go func() {
		select {
		case <-ctx.Done():
			done <- ctx.Err()
			return
		case <-time.After(time.Until(begin.Add(o.FaultAt))):
		}
		*at = time.Since(begin)
		done <- o.Fault(ctx)
	}()
	return done
}

// warmKey sends n requests spread evenly over d, round robin over the
// clients, each on its own so that a slow answer does not delay the next.
func warmKey(ctx context.Context, clients []rlsv3.RateLimitServiceClient, req *rlsv3.RateLimitRequest,
	n uint64, d time.Duration) (sent, admitted, errs uint64) {
	var ok, failed atomic.Uint64
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range n {
		at := begin.Add(time.Duration(float64(d) * float64(i) / float64(n)))
		select {
		case <-ctx.Done():
			wg.Wait()
			return sent, ok.Load(), failed.Load()
		case <-time.After(time.Until(at)):
		}
		sent++
		wg.Add(1)
		go func(c rlsv3.RateLimitServiceClient) {
			defer wg.Done()
			call, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			resp, err := c.ShouldRateLimit(call, req)
			switch {
			case err != nil:
				failed.Add(1)
			case resp.GetOverallCode() != rlsv3.RateLimitResponse_OVER_LIMIT:
				ok.Add(1)
			}
		}(clients[i%uint64(len(clients))])
	}
	wg.Wait()
	return sent, ok.Load(), failed.Load()
}
