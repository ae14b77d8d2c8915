package counter

import (
	"context"
	"math"
	"regexp"
	"sync"
	"testing"
	"time"
)

// backend opens two Stores over one shared backend, isolated from other
// tests, and says how short an expiry it honours.
type backend struct {
	open   func(t *testing.T) (a, b Store)
	expiry time.Duration // shortest expiry worth testing
	vanish time.Duration // how long after expiry a counter may still be seen
}

// testPrefix makes a key prefix unique to the running (sub)test.
func testPrefix(t *testing.T) string {
	return regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_") + ":"
}

// testStore runs the behaviour every Store must have.
func testStore(t *testing.T, be backend) {
	t.Run("counts add up across calls", func(t *testing.T) {
		s, _ := be.open(t)
		ttl := time.Minute
		add(t, s, []Increment{{"a", 1, ttl}, {"b", 2, ttl}}, 1, 2)
		add(t, s, []Increment{{"a", 3, ttl}, {"b", 0, ttl}, {"c", 0, ttl}}, 4, 2, 0)
		add(t, s, nil)
	})
	t.Run("stores share a backend's count", func(t *testing.T) {
		s1, s2 := be.open(t)
		add(t, s1, []Increment{{"k", 5, time.Minute}}, 5)
		add(t, s2, []Increment{{"k", 2, time.Minute}}, 7)
		add(t, s1, []Increment{{"k", 0, time.Minute}}, 7)
	})
	t.Run("batch over many keys", func(t *testing.T) {
		s, _ := be.open(t)
		var incs []Increment
		var want []uint64
		for i := range 40 {
			incs = append(incs, Increment{Key: string(rune('A'+i%26)) + string(rune('a'+i/26)), Hits: uint64(i + 1), Expiry: time.Minute})
			want = append(want, uint64(i+1))
		}
		add(t, s, incs, want...)
		for i := range want {
			want[i] *= 2
		}
		add(t, s, incs, want...)
	})
	t.Run("expiry makes a counter vanish", func(t *testing.T) {
		s, _ := be.open(t)
		add(t, s, []Increment{{"e", 3, be.expiry}, {"long", 1, time.Minute}}, 3, 1)
		// A later hit must not push the expiry back.
		add(t, s, []Increment{{"e", 1, time.Minute}}, 4)
		deadline := time.Now().Add(be.expiry + be.vanish)
		for read(t, s, "e") != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("counter still there %v after its expiry", be.vanish)
			}
			time.Sleep(be.expiry / 10)
		}
		add(t, s, []Increment{{"e", 2, time.Minute}, {"long", 0, time.Minute}}, 2, 1)
	})
	t.Run("concurrent adds sum exactly", func(t *testing.T) {
		s1, s2 := be.open(t)
		const workers, rounds = 16, 40
		var wg sync.WaitGroup
		for w := range workers {
			s := s1
			if w%2 == 1 {
				s = s2
			}
			wg.Go(func() {
				counts := make([]uint64, 2)
				for range rounds {
					if err := s.Add(ctx(t), []Increment{{"x", 1, time.Minute}, {"y", 2, time.Minute}}, counts); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		add(t, s1, []Increment{{"x", 0, time.Minute}, {"y", 0, time.Minute}}, workers*rounds, 2*workers*rounds)
	})
	t.Run("a count never goes backwards", func(t *testing.T) {
		// The fuzz reproducer of issue 16: 3, then 2^64-3, wrapped to 0.
		s, _ := be.open(t)
		var last uint64
		for i, hits := range []uint64{3, math.MaxUint64 - 2, 1, 1 << 63, math.MaxUint64, 5} {
			got := make([]uint64, 1)
			if err := s.Add(ctx(t), []Increment{{"w", hits, time.Minute}}, got); err != nil {
				t.Fatalf("add %d of %d hits: %v", i, hits, err)
			}
			if got[0] < last || got[0] < 3 {
				t.Fatalf("add %d of %d hits: count %d after %d: went backwards", i, hits, got[0], last)
			}
			last = got[0]
		}
		if last <= math.MaxUint32 {
			t.Fatalf("count %d after adding 2^64-3: not over every limit", last)
		}
	})
	t.Run("bad calls are refused", func(t *testing.T) {
		s, _ := be.open(t)
		if err := s.Add(ctx(t), []Increment{{"k", 1, time.Minute}}, nil); err == nil {
			t.Error("Add with too few counts succeeded")
		}
		if err := s.Add(ctx(t), []Increment{{"k", 1, 0}}, make([]uint64, 1)); err == nil {
			t.Error("Add with no expiry succeeded")
		}
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// add calls s.Add and checks the counts it returns.
func add(t *testing.T, s Store, incs []Increment, want ...uint64) {
	t.Helper()
	got := make([]uint64, len(incs))
	if err := s.Add(ctx(t), incs, got); err != nil {
		t.Fatalf("Add: %v", err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Add(%v) = %v, want %v", incs, got, want)
		}
	}
}

func read(t *testing.T, s Store, key string) uint64 {
	t.Helper()
	counts := make([]uint64, 1)
	if err := s.Add(ctx(t), []Increment{{key, 0, time.Minute}}, counts); err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return counts[0]
}
