package ratelimit

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/policy"
)

const fuzzPolicy = `
domain: fuzz
descriptors:
  - key: k
    rate_limit: {unit: minute, requests_per_unit: 100}
`

const fuzzLimit = 100

// refusingStore is a memory store whose counter for key "a" refuses the
// Adds it is told to, as a Redis key of the wrong type would: a key error
// of that key alone (counter.KeyErrors), the other keys counted.
type refusingStore struct {
	*counter.Memory
	refuse atomic.Bool
}

func (s *refusingStore) Add(ctx context.Context, incs []counter.Increment, counts []uint64) error {
	refuse := s.refuse.Load()
	errs := make([]error, len(incs))
	var ok []counter.Increment
	var at []int
	for i, inc := range incs {
		if refuse && strings.Contains(inc.Key, "_k_a_") {
			errs[i] = fmt.Errorf("counter %q: refused", inc.Key)
			continue
		}
		ok, at = append(ok, inc), append(at, i)
	}
	got := make([]uint64, len(ok))
	if err := s.Memory.Add(ctx, ok, got); err != nil {
		return err
	}
	for j, i := range at {
		counts[i] = got[j]
	}
	if len(ok) < len(incs) {
		return &counter.KeyErrors{Errs: errs}
	}
	return nil
}

// fuzzStep is one request of a fuzz input: 9 bytes, a flags byte then the
// hits_addend (big endian). Flags: bit 0 picks key "b" over "a", bit 1 sends
// both keys in one request, bit 2 makes the counter of "a" refuse this Add.
func fuzzSteps(data []byte) (steps []struct {
	both, b, refuse bool
	hits            uint64
}) {
	for ; len(data) >= 9 && len(steps) < 64; data = data[9:] {
		f := data[0]
		steps = append(steps, struct {
			both, b, refuse bool
			hits            uint64
		}{f&2 != 0, f&1 != 0, f&4 != 0, binary.BigEndian.Uint64(data[1:9])})
	}
	return steps
}

func fuzzInput(steps ...any) []byte {
	var b []byte
	for i := 0; i+1 < len(steps); i += 2 {
		b = append(b, byte(steps[i].(int)))
		b = binary.BigEndian.AppendUint64(b, steps[i+1].(uint64))
	}
	return b
}

// FuzzCountsNeverGoBackwards drives the RLS (exact mode, through the
// coalescing pipeline, on the in-memory store) with any sequence of
// hits_addend on two keys of one window, and checks every answer against a
// model where a key's count is the saturating sum of its capped hits: so a
// count never goes backwards (an OVER_LIMIT never turns OK, the remaining
// never grows), and a key whose counter fails (only "a" does) changes
// nothing for the other key: its answers and its count stay exact.
func FuzzCountsNeverGoBackwards(f *testing.F) {
	// The reproducer: 3 then 2^64-3 wrapped the count to 0, and the
	// key went OVER_LIMIT then OK.
	f.Add(fuzzInput(0, uint64(3), 0, uint64(math.MaxUint64-2), 0, uint64(0)))
	// 2^63 hits: the Redis increment that failed every flush.
	f.Add(fuzzInput(0, uint64(1)<<63, 1, uint64(50), 1, uint64(51), 0, uint64(1)))
	// A refused key beside a counted one, in one request and apart.
	f.Add(fuzzInput(2|4, uint64(60), 1, uint64(41), 4, uint64(7), 2, uint64(math.MaxUint64), 1, uint64(0)))
	f.Add(fuzzInput(1, uint64(math.MaxUint32), 1, uint64(math.MaxUint32), 1, uint64(math.MaxUint64), 3, uint64(1)))

	snap := compile(f, fuzzPolicy)
	f.Fuzz(func(t *testing.T, data []byte) {
		store := &refusingStore{Memory: counter.NewMemory()}
		batching := counter.NewBatching(store, counter.BatchingOptions{Pipelines: 1})
		defer batching.Close()
		svc := NewService(Options{Limiter: NewExactLimiter(batching), Now: func() time.Time { return testNow }})
		svc.SetSnapshot(snap)

		var model [2]uint64 // the counts of "a" and "b"
		for i, st := range fuzzSteps(data) {
			store.refuse.Store(st.refuse)
			keys := []int{0}
			switch {
			case st.both:
				keys = []int{0, 1}
			case st.b:
				keys = []int{1}
			}
			req := &rlsv3.RateLimitRequest{Domain: "fuzz"}
			for _, k := range keys {
				d := desc("k", string(rune('a'+k)))
				d.HitsAddend = wrapperspb.UInt64(st.hits)
				req.Descriptors = append(req.Descriptors, d)
			}
			resp, err := svc.ShouldRateLimit(context.Background(), req)
			hits, _ := policy.ClampHits(st.hits)
			refusedHere := st.refuse && keys[0] == 0
			for _, k := range keys {
				if k == 0 && st.refuse {
					continue // refused: not counted
				}
				model[k] = policy.AddHits(model[k], hits)
			}
			if refusedHere {
				if err == nil {
					t.Fatalf("step %d: a request on a refusing counter was answered %s", i, codesOf(resp))
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: keys %v failed for another key's error: %v", i, keys, err)
			}
			for j, k := range keys {
				got := resp.Statuses[j]
				wantOver := model[k] > fuzzLimit
				if over := got.Code == rlsv3.RateLimitResponse_OVER_LIMIT; over != wantOver {
					t.Fatalf("step %d: key %c at count %d answered %s, want over=%v", i, 'a'+k, model[k], got.Code, wantOver)
				}
				if !wantOver && got.LimitRemaining != uint32(fuzzLimit-model[k]) {
					t.Fatalf("step %d: key %c at count %d: remaining %d, want %d", i, 'a'+k, model[k], got.LimitRemaining, fuzzLimit-model[k])
				}
			}
		}
	})
}
