package counter

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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

// concurrentCallers is how many goroutines BenchmarkRedisConcurrentRequests
// runs at once, whatever the number of cores.
const concurrentCallers = 64

// BenchmarkRedisConcurrentRequests is exact mode under load: 64 goroutines
// (concurrentCallers, the same on any machine) each make requests of one
// increment, one after another, each request its own pipeline ("direct") or
// coalesced with the others' into shared pipelines ("batching", default
// BatchingOptions). ns/op is wall time per request over all callers.
func BenchmarkRedisConcurrentRequests(b *testing.B) {
	srv := testserver.Redis(b)
	url := "redis://" + srv.Addr
	stores := []struct {
		name string
		s    Store
	}{
		{"direct", NewRedis(redisClient(b, url), "bench:")},
		{"batching", NewBatching(NewRedis(redisClient(b, url), "bench:"), BatchingOptions{})},
	}
	for _, st := range stores {
		s := st.s
		b.Cleanup(func() { s.Close() })
		b.Run(fmt.Sprintf("callers=%d/%s", concurrentCallers, st.name), func(b *testing.B) {
			incs := benchIncrements(1)
			b.ReportAllocs()
			var taken atomic.Int64 // requests claimed so far, up to b.N
			var wg sync.WaitGroup
			b.ResetTimer()
			for range concurrentCallers {
				wg.Go(func() {
					counts := make([]uint64, 1)
					for taken.Add(1) <= int64(b.N) {
						if err := s.Add(context.Background(), incs, counts); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
