package counter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

// benchBatches are the batch sizes measured: one hit, and an engine flush.
var benchBatches = []int{1, 16}

func benchIncrements(n int) []Increment {
	incs := make([]Increment, n)
	for i := range incs {
		incs[i] = Increment{Key: fmt.Sprintf("domain_key_value%d_1700000000", i), Hits: 1, Expiry: time.Minute}
	}
	return incs
}

func benchAdd(b *testing.B, s Store, parallel bool) {
	for _, n := range benchBatches {
		incs := benchIncrements(n)
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			if !parallel {
				counts := make([]uint64, n)
				for b.Loop() {
					if err := s.Add(context.Background(), incs, counts); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				counts := make([]uint64, n)
				for pb.Next() {
					if err := s.Add(context.Background(), incs, counts); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkMemoryAdd(b *testing.B) {
	m := NewMemory()
	defer m.Close()
	benchAdd(b, m, false)
	b.Run("parallel", func(b *testing.B) { benchAdd(b, m, true) })
}

func BenchmarkRedisAdd(b *testing.B) {
	srv := testserver.Redis(b)
	benchAdd(b, NewRedis(redisClient(b, "redis://"+srv.Addr), "bench:"), false)
}

// BenchmarkRedisConcurrentRequests is exact mode under load: 64 concurrent
// requests of one increment each, each its own pipeline ("direct") or
// coalesced into shared pipelines ("batching").
func BenchmarkRedisConcurrentRequests(b *testing.B) {
	srv := testserver.Redis(b)
	url := "redis://" + srv.Addr
	for name, s := range map[string]Store{
		"direct":   NewRedis(redisClient(b, url), "bench:"),
		"batching": NewBatching(NewRedis(redisClient(b, url), "bench:"), BatchingOptions{}),
	} {
		b.Cleanup(func() { s.Close() })
		b.Run(name, func(b *testing.B) {
			incs := benchIncrements(1)
			b.SetParallelism(32) // 64 callers on 2 cores
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				counts := make([]uint64, 1)
				for pb.Next() {
					if err := s.Add(context.Background(), incs, counts); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
