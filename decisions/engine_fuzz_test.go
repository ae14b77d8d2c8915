package decisions

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

// refusingCounter is a memory store whose counter of user "a" refuses the
// Adds it is told to, as a Redis key of the wrong type would: that key's
// error alone (counter.KeyErrors), the other keys counted.
type refusingCounter struct {
	*counter.Memory
	refuse atomic.Bool
}

func (s *refusingCounter) Add(ctx context.Context, incs []counter.Increment, counts []uint64) error {
	refuse := s.refuse.Load()
	errs := make([]error, len(incs))
	failed := false
	for i, inc := range incs {
		if refuse && strings.Contains(inc.Key, "_user_a_") {
			errs[i], failed = fmt.Errorf("counter %q: refused", inc.Key), true
			continue
		}
		if err := s.Memory.Add(ctx, incs[i:i+1], counts[i:i+1]); err != nil {
			return err
		}
	}
	if failed {
		return &counter.KeyErrors{Errs: errs}
	}
	return nil
}

// FuzzEngineCountsNeverGoBackwards streams any sequence of hits on two
// keys to the engine's Ingest, flushing where the input says, with the
// counter of "a" refusing some flushes, and checks the engine against a
// model: a key's count is the saturating sum of its capped hits, a refused
// key's hits wait for a later flush, and each key is throttled exactly
// once, when its count first passes the limit, at that count. So a count
// never goes backwards, and "a"'s errors never change what "b" gets.
func FuzzEngineCountsNeverGoBackwards(f *testing.F) {
	step := func(flags byte, hits uint64) []byte {
		return binary.BigEndian.AppendUint64([]byte{flags}, hits)
	}
	join := func(steps ...[]byte) []byte { return bytes.Join(steps, nil) }
	// Flags: bit 0 user "b" (else "a"), bit 1 both users, bit 2 "a"'s
	// counter refuses the next flush, bit 3 flush after this step.
	f.Add(join(step(8, 3), step(8, math.MaxUint64-2), step(8, 1)))                // the reproducer
	f.Add(join(step(2|4|8, 1<<63), step(1|8, 11), step(8, 0), step(2|8, 5)))      // item 1, and a refused key
	f.Add(join(step(0, 3), step(0, math.MaxUint64-2), step(1, 10), step(4|8, 1))) // one flush for all
	f.Add(join(step(2, math.MaxUint64), step(2|8, math.MaxUint64), step(2|8, math.MaxUint64)))

	const limit = 10
	snap := testkit.Compile(f, hourPolicy)
	keys := [2]string{"api_user_a_1699999200", "api_user_b_1699999200"}
	f.Fuzz(func(t *testing.T, data []byte) {
		store := &refusingCounter{Memory: counter.NewMemory()}
		defer store.Close()
		pub := &publishLog{}
		clk := &clock{now: time.Unix(hourT0, 0)}
		e, err := NewEngine(EngineOptions{ID: "e", Counter: store, Publisher: pub, FlushInterval: time.Hour, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		e.SetSnapshot(snap)

		var pending, count [2]uint64
		var throttled [2]bool
		for i := 0; len(data) >= 9 && i < 64; i, data = i+1, data[9:] {
			flags, hits := data[0], binary.BigEndian.Uint64(data[1:9])
			users := []int{int(flags & 1)}
			if flags&2 != 0 {
				users = []int{0, 1}
			}
			var b enginepb.HitBatch
			capped, _ := policy.ClampHits(hits)
			for _, u := range users {
				b.Hits = append(b.Hits, hourHit(string(rune('a'+u)), hits))
				pending[u] = policy.AddHits(pending[u], capped)
			}
			e.Ingest(&b)
			store.refuse.Store(flags&4 != 0)
			if flags&8 == 0 {
				continue
			}
			e.Flush(context.Background())
			want := map[string]uint64{}
			for u := range 2 {
				if pending[u] == 0 || (u == 0 && flags&4 != 0) {
					continue // nothing to count, or kept for the next flush
				}
				count[u], pending[u] = policy.AddHits(count[u], pending[u]), 0
				if count[u] > limit && !throttled[u] {
					throttled[u] = true
					want[keys[u]] = count[u]
				}
			}
			got := map[string]uint64{}
			for _, d := range pub.take() {
				if d.State == Throttled {
					got[d.Key] = d.Count
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("step %d: throttled %v, want %v (counts a=%d b=%d)", i, got, want, count[0], count[1])
			}
			for u, k := range keys {
				c := make([]uint64, 1)
				if err := store.Memory.Add(context.Background(), []counter.Increment{{Key: k, Expiry: time.Hour}}, c); err != nil || c[0] != count[u] {
					t.Fatalf("step %d: counter %s = %d (%v), want %d", i, k, c[0], err, count[u])
				}
			}
		}
	})
}
