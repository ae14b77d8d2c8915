package datacenters

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

// drive sends requests for key=value at full speed through every replica
// of the datacenters in dcs (3 callers a replica) until until, and returns
// what each datacenter admitted. Every call must be answered.
func (d *deployment) drive(t *testing.T, dcs []int, key, value string, until time.Time) []int {
	t.Helper()
	admitted := make([]atomic.Int64, datacenters)
	var wg sync.WaitGroup
	for _, i := range dcs {
		dc := d.dcs[i]
		for w := range 3 * len(dc.clients) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := w % len(dc.clients)
				for range maxCalls {
					if !time.Now().Before(until) {
						return
					}
					ok, err := ask(dc.clients[r], key, value)
					if err != nil {
						t.Errorf("%s replica %d: ShouldRateLimit: %v", dc.name, r, err)
						return
					}
					if ok {
						admitted[i].Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	out := make([]int, datacenters)
	for i := range out {
		out[i] = int(admitted[i].Load())
	}
	return out
}

// slow sends n requests, one every 10 ms, through datacenter i's first
// replica and returns how many were admitted.
func (d *deployment) slow(t *testing.T, i int, key, value string, n int) int {
	t.Helper()
	admitted := 0
	for range n {
		time.Sleep(10 * time.Millisecond)
		ok, err := ask(d.dcs[i].clients[0], key, value)
		if err != nil {
			t.Errorf("%s: ShouldRateLimit: %v", d.dcs[i].name, err)
			return admitted
		}
		if ok {
			admitted++
		}
	}
	return admitted
}

// ask sends one request for key=value, as Envoy would but with a generous
// deadline: these tests count admissions, the fault suite times answers.
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

func uniqueValue(t *testing.T) string {
	return fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
}
