package counter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// Counters of one-second windows land in the per-second Redis, every other
// in the main one, and each caller gets its own count back.
func TestOpenPerSecondRedis(t *testing.T) {
	main, perSecond := testserver.Redis(t), testserver.Redis(t)
	s, err := Open(Location{RedisURL: "redis://" + main.Addr, PerSecondRedisURL: "redis://" + perSecond.Addr,
		Batched: true, Breaker: &BreakerOptions{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	incs := []Increment{{"sec", 1, time.Second}, {"min", 2, time.Minute}, {"sec2", 3, time.Second}, {"hour", 4, time.Hour}}
	counts := make([]uint64, len(incs))
	for range 2 {
		if err := s.Add(ctx, incs, counts); err != nil {
			t.Fatal(err)
		}
	}
	if want := []uint64{2, 4, 6, 8}; !equalCounts(counts, want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
	keysOf := func(srv *testserver.Server) map[string]bool {
		c := redisClient(t, "redis://"+srv.Addr)
		keys := map[string]bool{}
		for _, k := range c.Keys(ctx, "*").Val() {
			keys[k] = true
		}
		return keys
	}
	if got := keysOf(perSecond); len(got) != 2 || !got["sec"] || !got["sec2"] {
		t.Errorf("per-second Redis holds %v, want sec and sec2", got)
	}
	if got := keysOf(main); len(got) != 2 || !got["min"] || !got["hour"] {
		t.Errorf("main Redis holds %v, want min and hour", got)
	}

	// The per-second Redis down: its counters fail, the others count on,
	// and the store reports down once its breaker opens.
	perSecond.Stop()
	err = s.Add(ctx, incs, counts)
	if KeyErr(err, 0) == nil || KeyErr(err, 1) != nil || counts[1] != 6 {
		t.Fatalf("with the per-second Redis down: %v, counts %v; want sec failed and min counted", err, counts)
	}
	if !errors.Is(err, ErrStoreDown) {
		t.Fatalf("error %v is not a store outage", err)
	}
	testkit.Eventually(t, "the store reports down while its per-second Redis is", func() bool {
		s.Add(ctx, incs[:1], counts[:1])
		return s.(DownReporter).Down() != nil
	})
}

func TestOpenPerSecondNeedsMainRedis(t *testing.T) {
	if _, err := Open(Location{PerSecondRedisURL: "redis://127.0.0.1:1"}); err == nil {
		t.Fatal("a per-second Redis alone opened")
	}
}

func equalCounts(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
