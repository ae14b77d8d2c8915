package load

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	rlqsv3 "github.com/envoyproxy/go-control-plane/envoy/service/rate_limit_quota/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// simEnvoy is a simulated Envoy's rate_limit_quota filter: its buckets'
// requests arrive at a steady demand and are admitted or denied as Envoy's
// filter decides them (the assignment's token bucket, a blanket rule, or
// DENY_ALL with no live assignment), counted per tick rather than one by
// one so that thousands of buckets cost little; usage reports go every
// interval with time_elapsed in whole seconds.
type simEnvoy struct {
	stream  rlqsv3.RateLimitQuotaService_StreamRateLimitQuotasClient
	domain  string
	buckets []*simBucket
	byKey   map[string]*simBucket
	demand  float64 // requests a second per bucket
	// admitted counts what the buckets admitted, by window (second since
	// start) and bucket; shared by every Envoy of a run.
	admitted *windowCounts
	reports  *atomic.Uint64 // bucket usages sent, all Envoys

	mu sync.Mutex
}

type simBucket struct {
	id              *rlqsv3.BucketId
	key             int
	carry           float64 // fraction of a request due
	allowed, denied uint64
	lastReport      time.Time

	tb          *typev3.TokenBucket
	tokens, max float64
	blanket     typev3.RateLimitStrategy_BlanketRule
	assigned    bool
	expires     time.Time
}

// windowCounts are admitted requests by window and bucket, windows
// numbered from the one the run started in.
type windowCounts struct {
	first, unit int64 // Unix seconds
	buckets     int
	counts      []atomic.Uint64
}

func newWindowCounts(start time.Time, unit int64, windows, buckets int) *windowCounts {
	return &windowCounts{first: start.Unix() / unit, unit: unit, buckets: buckets, counts: make([]atomic.Uint64, windows*buckets)}
}

// window is the number of the window now falls in.
func (w *windowCounts) window(now time.Time) int { return int(now.Unix()/w.unit - w.first) }

func (w *windowCounts) add(now time.Time, bucket int, n uint64) {
	i := w.window(now)*w.buckets + bucket
	if i >= 0 && i < len(w.counts) {
		w.counts[i].Add(n)
	}
}

func (w *windowCounts) get(window, bucket int) uint64 {
	return w.counts[window*w.buckets+bucket].Load()
}

func newSimEnvoy(ctx context.Context, conn grpc.ClientConnInterface, domain string, buckets int, demand float64,
	admitted *windowCounts, reports *atomic.Uint64) (*simEnvoy, error) {
	st, err := rlqsv3.NewRateLimitQuotaServiceClient(conn).StreamRateLimitQuotas(ctx)
	if err != nil {
		return nil, err
	}
	e := &simEnvoy{stream: st, domain: domain, demand: demand, admitted: admitted, reports: reports, byKey: map[string]*simBucket{}}
	for i := range buckets {
		v := "b" + strconv.Itoa(i)
		b := &simBucket{id: &rlqsv3.BucketId{Bucket: map[string]string{"bucket": v}}, key: i, lastReport: time.Now()}
		e.buckets = append(e.buckets, b)
		e.byKey[v] = b
	}
	return e, nil
}

// run drives the Envoy until ctx ends: requests every tick, reports every
// interval, assignments as they come.
func (e *simEnvoy) run(ctx context.Context, interval, tick time.Duration) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			r, err := e.stream.Recv()
			if err != nil {
				return
			}
			e.apply(r)
		}
	}()
	e.report(time.Now()) // a bucket's first request reports it at once
	reportT, tickT := time.NewTicker(interval), time.NewTicker(tick)
	last := time.Now()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case now := <-tickT.C:
			e.requests(now, now.Sub(last))
			last = now
		case now := <-reportT.C:
			e.report(now)
		}
	}
	reportT.Stop()
	tickT.Stop()
	_ = e.stream.CloseSend()
	wg.Wait()
}

func (e *simEnvoy) requests(now time.Time, dt time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.buckets {
		due := e.demand*dt.Seconds() + b.carry
		n := uint64(due)
		b.carry = due - float64(n)
		if n == 0 {
			continue
		}
		ok := b.admit(now, n)
		b.allowed += ok
		b.denied += n - ok
		if ok > 0 {
			e.admitted.add(now, b.key, ok)
		}
	}
}

// admit is how many of n requests the bucket admits now.
func (b *simBucket) admit(now time.Time, n uint64) uint64 {
	if !b.assigned || now.After(b.expires) {
		return 0
	}
	if b.tb == nil {
		if b.blanket == typev3.RateLimitStrategy_ALLOW_ALL {
			return n
		}
		return 0
	}
	// Floodgate's buckets refill one token a day: a run never sees it.
	got := min(uint64(b.tokens), n)
	b.tokens -= float64(got)
	return got
}

func (e *simEnvoy) report(now time.Time) {
	r := &rlqsv3.RateLimitQuotaUsageReports{Domain: e.domain}
	e.mu.Lock()
	for _, b := range e.buckets {
		r.BucketQuotaUsages = append(r.BucketQuotaUsages, &rlqsv3.RateLimitQuotaUsageReports_BucketQuotaUsage{
			BucketId: b.id, NumRequestsAllowed: b.allowed, NumRequestsDenied: b.denied,
			TimeElapsed: durationpb.New(now.Sub(b.lastReport).Truncate(time.Second))})
		b.allowed, b.denied, b.lastReport = 0, 0, now
	}
	e.mu.Unlock()
	e.reports.Add(uint64(len(r.BucketQuotaUsages)))
	_ = e.stream.Send(r)
}

// apply takes assignments as Envoy does: a token bucket equal to the one in
// force (max_tokens, tokens_per_fill, fill_interval's nanos) only extends
// the TTL; any other starts full.
func (e *simEnvoy) apply(r *rlqsv3.RateLimitQuotaResponse) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range r.GetBucketAction() {
		b := e.byKey[a.GetBucketId().GetBucket()["bucket"]]
		if b == nil {
			continue
		}
		if a.GetAbandonAction() != nil {
			b.assigned, b.tb = false, nil
			continue
		}
		qa := a.GetQuotaAssignmentAction()
		s := qa.GetRateLimitStrategy()
		if tb := s.GetTokenBucket(); tb != nil {
			if b.tb == nil || b.tb.GetMaxTokens() != tb.GetMaxTokens() || b.tb.GetTokensPerFill().GetValue() != tb.GetTokensPerFill().GetValue() ||
				b.tb.GetFillInterval().GetNanos() != tb.GetFillInterval().GetNanos() {
				b.tb, b.max, b.tokens = tb, float64(tb.GetMaxTokens()), float64(tb.GetMaxTokens())
			}
		} else {
			b.tb, b.blanket = nil, s.GetBlanketRule()
		}
		b.assigned = true
		b.expires = now.Add(time.Duration(qa.GetAssignmentTimeToLive().GetSeconds()) * time.Second)
	}
}
