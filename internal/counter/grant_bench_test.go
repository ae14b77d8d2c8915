package counter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

// BenchmarkRedisGrant is one engine renewing its leases: each call grants a
// token on every key of a batch and returns the one granted before, so every
// grant writes. grants/s counts keys granted.
func BenchmarkRedisGrant(b *testing.B) {
	srv := testserver.Redis(b)
	s := NewRedis(redisClient(b, "redis://"+srv.Addr), "bench:")
	start := time.Now().Unix()
	for _, n := range []int{1, 100} {
		gs := make([]Grant, n)
		for i := range gs {
			gs[i] = Grant{Key: fmt.Sprintf("domain_key_value%d_%d", i, start), Limit: 1 << 20,
				WindowStart: start, Window: time.Hour, Want: 1, Return: 1, Divisor: 4}
		}
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			out := make([]Granted, n)
			for b.Loop() {
				if err := s.Grant(context.Background(), gs, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "grants/s")
			b.ReportMetric(float64(n), "keys/roundtrip")
		})
	}
}
