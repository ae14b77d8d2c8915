package multidctest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
)

// maxCalls bounds a caller's calls in one drive, whatever its speed.
const maxCalls = 200_000

// all is every datacenter, for a drive through all of them.
var all = []int{0, 1, 2}

// AwaitLinked waits, within a guard, until every engine has reached the
// global tier and counts every datacenter: each counts itself in at start
// and every second, and until then the others size their credits for
// fewer.
func AwaitLinked(t testing.TB, h Deployment) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for dc := range Datacenters {
		for e := range Engines {
			for {
				s := h.Global(t, dc, e)
				if s.Up && s.Datacenters == Datacenters {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("dc%d engine %d not linked to the global tier with every datacenter counted: %+v", dc, e, s)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}

// drive sends requests for key=value at full speed through every replica
// of the datacenters in dcs (3 callers a replica) until until, and returns
// what each datacenter admitted. Every call must be answered.
func drive(t testing.TB, h Deployment, dcs []int, key, value string, until time.Time) []int {
	t.Helper()
	admitted := make([]atomic.Int64, Datacenters)
	var wg sync.WaitGroup
	for _, dc := range dcs {
		for w := range 3 * Replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := w % Replicas
				c := h.Client(dc, r)
				for range maxCalls {
					if !time.Now().Before(until) {
						return
					}
					ok, err := ask(c, key, value)
					if err != nil {
						t.Errorf("dc%d replica %d: ShouldRateLimit: %v", dc, r, err)
						return
					}
					if ok {
						admitted[dc].Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	out := make([]int, Datacenters)
	for i := range out {
		out[i] = int(admitted[i].Load())
	}
	return out
}

// slow sends n requests, one every 10 ms, through datacenter dc's first
// replica and returns how many were admitted.
func slow(t testing.TB, h Deployment, dc int, key, value string, n int) int {
	t.Helper()
	admitted := 0
	c := h.Client(dc, 0)
	for range n {
		time.Sleep(10 * time.Millisecond)
		ok, err := ask(c, key, value)
		if err != nil {
			t.Errorf("dc%d: ShouldRateLimit: %v", dc, err)
			return admitted
		}
		if ok {
			admitted++
		}
	}
	return admitted
}

// ask sends one request for key=value, as Envoy would but with a generous
// deadline: these scenarios count admissions, the fault suite times
// answers.
func ask(c rlsv3.RateLimitServiceClient, key, value string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "test",
		Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}}}})
	if err != nil {
		return false, err
	}
	return resp.GetOverallCode() == rlsv3.RateLimitResponse_OK, nil
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// uniqueValue is a descriptor value no other test or run has counted.
func uniqueValue(t testing.TB) string {
	return fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
}
