package faults

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// The load: callers each ask every callEvery, as Envoy does, with Envoy's
// deadline; one call in smallEvery is for the small key, the rest for wide.
const (
	callers      = 8
	callEvery    = 5 * time.Millisecond
	callDeadline = 50 * time.Millisecond
	smallEvery   = 10
)

// Phases of a case: counts are kept apart before, during and after its
// fault, and in exact mode in the transition between a store's death and
// its breaker opening, whose first failures wait out --store-timeout.
const (
	before = iota
	transition
	during
	after
	phases
)

// Keys the load asks for.
const (
	keyWide = iota
	keySmall
	keys
)

// tally is what a load saw.
type tally struct {
	sent, failed, timedOut atomic.Int64
	// answers[phase][key][0] are OK, [1] OVER_LIMIT.
	answers [phases][keys][2]atomic.Int64
	// late[phase] are the calls of each phase that ran past the deadline.
	late     [phases]atomic.Int64
	errMu    sync.Mutex
	firstErr error
}

func (c *tally) ok(phase, key int) int64   { return c.answers[phase][key][0].Load() }
func (c *tally) over(phase, key int) int64 { return c.answers[phase][key][1].Load() }

// admitted is what every phase admitted of key.
func (c *tally) admitted(key int) int {
	n := int64(0)
	for p := range phases {
		n += c.ok(p, key)
	}
	return int(n)
}

func (c *tally) fail(err error) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.firstErr == nil {
		c.firstErr = err
	}
}

// load is a running load against some replicas.
type load struct {
	tally
	phase  atomic.Int32
	cancel context.CancelFunc
	wg     sync.WaitGroup
	conns  []*grpc.ClientConn
}

// startLoad starts callers asking the replicas at addrs (caller i asks
// addrs[i % len]) for wide=value and small=value until stop.
func startLoad(t *testing.T, value string, addrs ...string) *load {
	t.Helper()
	l := &load{}
	var clients []rlsv3.RateLimitServiceClient
	for _, a := range addrs {
		cc, err := grpc.NewClient(a, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatalf("dial %s: %v", a, err)
		}
		l.conns = append(l.conns, cc)
		clients = append(clients, rlsv3.NewRateLimitServiceClient(cc))
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	reqs := [keys]*rlsv3.RateLimitRequest{request("wide", value), request("small", value)}
	for i := range callers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(callEvery)
			defer tick.Stop()
			for n := 0; ; n++ {
				key := keyWide
				if (n+i)%smallEvery == 0 {
					key = keySmall
				}
				l.call(ctx, clients[i%len(clients)], key, reqs[key])
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	t.Cleanup(l.stop)
	return l
}

// call asks once with Envoy's deadline and records the answer.
func (l *load) call(ctx context.Context, c rlsv3.RateLimitServiceClient, key int, req *rlsv3.RateLimitRequest) {
	phase := int(l.phase.Load())
	callCtx, cancel := context.WithTimeout(context.Background(), callDeadline)
	defer cancel()
	if ctx.Err() != nil {
		return
	}
	l.sent.Add(1)
	resp, err := c.ShouldRateLimit(callCtx, req)
	switch {
	case err == nil && resp.GetOverallCode() == rlsv3.RateLimitResponse_OK:
		l.answers[phase][key][0].Add(1)
	case err == nil:
		l.answers[phase][key][1].Add(1)
	case status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
		l.timedOut.Add(1)
		l.late[phase].Add(1)
		l.fail(err)
	default:
		l.failed.Add(1)
		l.fail(err)
	}
}

// enter moves the load's counts on to phase p.
func (l *load) enter(p int) { l.phase.Store(int32(p)) }

// stop ends the load and waits for its callers; stopping twice is fine.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func request(key, value string) *rlsv3.RateLimitRequest {
	return &rlsv3.RateLimitRequest{Domain: domain, Descriptors: []*commonrl.RateLimitDescriptor{{
		Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}}}}
}

// askOnce sends addr one request for key=value with Envoy's deadline.
func askOnce(addr, key, value string) (rlsv3.RateLimitResponse_Code, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := rlsv3.NewRateLimitServiceClient(cc).ShouldRateLimit(ctx, request(key, value))
	return resp.GetOverallCode(), err
}
