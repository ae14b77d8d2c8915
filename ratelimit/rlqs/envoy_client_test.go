package rlqs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	rlqsv3 "github.com/envoyproxy/go-control-plane/envoy/service/rate_limit_quota/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// envoyClient does what Envoy's rate_limit_quota filter does
// (source/extensions/filters/http/rate_limit_quota/global_client_impl.cc):
// a bucket's first request sends a report of that bucket alone, every
// interval a report of all buckets goes out (time_elapsed in whole
// seconds), each assignment's token bucket is enforced locally (full when
// made, refilled at tokens_per_fill per fill_interval's whole seconds, kept
// as it is when an assignment equal to it arrives), an assignment expires
// after its TTL's whole seconds into the expired behavior, and abandon
// erases the bucket. Before any assignment, and after one expired, it
// denies (no_assignment_behavior and expired_assignment_behavior DENY_ALL,
// the settings that keep the bound).
type envoyClient struct {
	domain string
	stream rlqsv3.RateLimitQuotaService_StreamRateLimitQuotasClient
	cancel context.CancelFunc

	mu        sync.Mutex
	buckets   map[string]*clientBucket
	abandoned int
	zeroTTL   int // assignments that came with a TTL of 0
	sendMu    sync.Mutex
	wg        sync.WaitGroup
}

type clientBucket struct {
	id              map[string]string
	allowed, denied uint64
	lastReport      time.Time

	action  *rlqsv3.RateLimitQuotaResponse_BucketAction
	expires time.Time
	// token bucket
	tb                  *typev3.TokenBucket
	tokens, max, rate   float64
	filled              time.Time
	assignedTokenBucket int
	received            int // assignments received
	receivedAt          time.Time
}

// newEnvoyClient opens a stream on conn and reports every interval until
// stop or the test's end.
func newEnvoyClient(t testing.TB, conn grpc.ClientConnInterface, domain string, interval time.Duration) *envoyClient {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	st, err := rlqsv3.NewRateLimitQuotaServiceClient(conn).StreamRateLimitQuotas(ctx)
	if err != nil {
		cancel()
		t.Fatalf("open RLQS stream: %v", err)
	}
	c := &envoyClient{domain: domain, stream: st, cancel: cancel, buckets: map[string]*clientBucket{}}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		for {
			r, err := st.Recv()
			if err != nil {
				return
			}
			c.apply(r)
		}
	}()
	go func() {
		defer c.wg.Done()
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				c.reportAll()
			}
		}
	}()
	t.Cleanup(c.stop)
	return c
}

// stop ends the stream as a vanished Envoy would: no goodbye.
func (c *envoyClient) stop() {
	c.cancel()
	c.wg.Wait()
}

func key(id map[string]string) string {
	s := ""
	for _, k := range []string{"tenant", "remote_address", "name"} {
		s += k + "=" + id[k] + ";"
	}
	return s
}

// request is one request of bucket id: admitted or not.
func (c *envoyClient) request(id map[string]string) bool {
	now := time.Now()
	c.mu.Lock()
	b := c.buckets[key(id)]
	if b == nil {
		b = &clientBucket{id: id, denied: 1, lastReport: now}
		c.buckets[key(id)] = b
		r := c.reportOf(b, now)
		c.mu.Unlock()
		c.send(r)
		return false
	}
	ok := b.admit(now)
	if ok {
		b.allowed++
	} else {
		b.denied++
	}
	c.mu.Unlock()
	return ok
}

// deny records n more requests of id's bucket as denied, as before its
// first assignment: demand for the next report, spending no token even if
// an assignment has landed meanwhile.
func (c *envoyClient) deny(id map[string]string, n uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.buckets[key(id)]; b != nil {
		b.denied += n
	}
}

func (b *clientBucket) admit(now time.Time) bool {
	if b.action == nil || now.After(b.expires) {
		return false
	}
	s := b.action.GetQuotaAssignmentAction().GetRateLimitStrategy()
	if s.GetTokenBucket() == nil {
		return s.GetBlanketRule() == typev3.RateLimitStrategy_ALLOW_ALL
	}
	b.tokens = min(b.max, b.tokens+b.rate*now.Sub(b.filled).Seconds())
	b.filled = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (c *envoyClient) reportOf(b *clientBucket, now time.Time) *rlqsv3.RateLimitQuotaUsageReports {
	u := &rlqsv3.RateLimitQuotaUsageReports_BucketQuotaUsage{
		BucketId:           &rlqsv3.BucketId{Bucket: b.id},
		TimeElapsed:        durationpb.New(now.Sub(b.lastReport).Truncate(time.Second)),
		NumRequestsAllowed: b.allowed, NumRequestsDenied: b.denied,
	}
	b.allowed, b.denied, b.lastReport = 0, 0, now
	return &rlqsv3.RateLimitQuotaUsageReports{Domain: c.domain, BucketQuotaUsages: []*rlqsv3.RateLimitQuotaUsageReports_BucketQuotaUsage{u}}
}

func (c *envoyClient) reportAll() {
	now := time.Now()
	all := &rlqsv3.RateLimitQuotaUsageReports{Domain: c.domain}
	c.mu.Lock()
	for _, b := range c.buckets {
		all.BucketQuotaUsages = append(all.BucketQuotaUsages, c.reportOf(b, now).BucketQuotaUsages...)
	}
	c.mu.Unlock()
	c.send(all)
}

func (c *envoyClient) send(r *rlqsv3.RateLimitQuotaUsageReports) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	_ = c.stream.Send(r)
}

func (c *envoyClient) apply(r *rlqsv3.RateLimitQuotaResponse) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range r.GetBucketAction() {
		k := key(a.GetBucketId().GetBucket())
		b := c.buckets[k]
		if b == nil {
			continue
		}
		if a.GetAbandonAction() != nil {
			delete(c.buckets, k)
			c.abandoned++
			continue
		}
		qa := a.GetQuotaAssignmentAction()
		ttl := time.Duration(qa.GetAssignmentTimeToLive().GetSeconds()) * time.Second
		if ttl == 0 {
			c.zeroTTL++
		}
		if tb := qa.GetRateLimitStrategy().GetTokenBucket(); tb != nil && !sameTokenBucket(b.tb, tb) {
			fill := qa.GetRateLimitStrategy().GetTokenBucket().GetFillInterval().GetSeconds()
			b.tb, b.max, b.tokens, b.filled = tb, float64(tb.GetMaxTokens()), float64(tb.GetMaxTokens()), now
			b.rate = float64(tb.GetTokensPerFill().GetValue()) / float64(fill)
			b.assignedTokenBucket++
		} else if tb == nil {
			b.tb = nil
		}
		b.action, b.expires = a, now.Add(ttl)
		b.received++
		b.receivedAt = now
	}
}

// sameTokenBucket compares as Envoy's protoTokenBucketsEq does.
func sameTokenBucket(old, nw *typev3.TokenBucket) bool {
	return old != nil && old.GetMaxTokens() == nw.GetMaxTokens() &&
		old.GetTokensPerFill().GetValue() == nw.GetTokensPerFill().GetValue() &&
		old.GetFillInterval().GetNanos() == nw.GetFillInterval().GetNanos()
}

// bucket is a copy of the client's view of id, nil when it has none.
func (c *envoyClient) bucket(id map[string]string) *clientBucket {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.buckets[key(id)]
	if b == nil {
		return nil
	}
	cp := *b
	return &cp
}
