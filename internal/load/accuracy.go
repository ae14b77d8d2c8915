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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// AccuracyOptions describe an accuracy run: one key with a known limit,
// driven at a fixed rate through several replicas in turn.
type AccuracyOptions struct {
	Addrs    []string // the replicas
	Domain   string
	Entries  []*ratelimitv3.RateLimitDescriptor_Entry
	Limit    uint64 // the key's requests_per_unit; its window must outlast the run
	Rate     float64
	Duration time.Duration
	Workers  int // callers; 0 is 64
}

// AccuracyResult is what an accuracy run saw.
type AccuracyResult struct {
	Sent, Admitted, Errors uint64
	Limit                  uint64
	// Delay is from the moment the limit was crossed (the request after the
	// limit-th was sent) to the moment the last replica answered OVER_LIMIT.
	// Negative values cannot occur; -1 means some replica never enforced.
	Delay time.Duration
	// PerReplica is each replica's delay, in the order of Addrs.
	PerReplica []time.Duration
}

// AdmittedRatio is admitted requests over the limit: 1.0 is exact.
func (r *AccuracyResult) AdmittedRatio() float64 { return float64(r.Admitted) / float64(r.Limit) }

// Accuracy runs one accuracy measurement.
func Accuracy(ctx context.Context, o AccuracyOptions) (*AccuracyResult, error) {
	if len(o.Addrs) == 0 || o.Limit == 0 || o.Rate <= 0 || o.Duration <= 0 {
		return nil, errors.New("accuracy: give replicas, a limit, a rate and a duration")
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

	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	starts := make(chan time.Time, o.Workers)
	var missed atomic.Uint64
	go pace(ctx, o.Rate, starts, &missed)

	var (
		seq       atomic.Uint64
		admitted  atomic.Uint64
		failed    atomic.Uint64
		mu        sync.Mutex
		crossedAt time.Time
		firstOver = make([]time.Time, len(clients))
	)
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var start time.Time
				select {
				case start = <-starts:
				case <-ctx.Done():
					return
				}
				n := seq.Add(1) - 1
				replica := int(n % uint64(len(clients)))
				if n == o.Limit {
					mu.Lock()
					crossedAt = start
					mu.Unlock()
				}
				resp, err := clients[replica].ShouldRateLimit(ctx, req)
				switch {
				case err != nil:
					// The run's deadline is the only one a request has: a
					// DeadlineExceeded is the run ending, which the server
					// may notice before this process's context does.
					if ctx.Err() == nil && status.Code(err) != codes.DeadlineExceeded {
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
	wg.Wait()
	res := &AccuracyResult{Sent: seq.Load(), Admitted: admitted.Load(), Errors: failed.Load(), Limit: o.Limit,
		PerReplica: make([]time.Duration, len(clients))}
	if crossedAt.IsZero() {
		return res, fmt.Errorf("accuracy: only %d requests sent, never crossed the limit of %d: raise --rate or --duration", res.Sent, o.Limit)
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
