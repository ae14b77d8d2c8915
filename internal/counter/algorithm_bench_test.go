package counter

import (
	"context"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

// BenchmarkRedisAlgorithms is exact mode's cost per request on one local
// Redis, one caller, one request at a time: "fixed_add" is today's fixed
// window (Add of one increment, always charged); the others are one Check
// of one hit that every limit admits (limits of 2^31 per hour, so every
// call writes): a fixed window, a sliding window (two keys), a token bucket
// (one TAT), and two limits at once (a sliding window and a token bucket,
// charged all or none, one script).
func BenchmarkRedisAlgorithms(b *testing.B) {
	srv := testserver.Redis(b)
	s := NewRedis(redisClient(b, "redis://"+srv.Addr), "bench:")
	now := time.Now()
	const big = 1 << 31
	fixed := windowLimit(FixedWindow, "domain_key_value_fixed", big, time.Hour, now)
	sliding := windowLimit(SlidingWindow, "domain_key_value_sliding", big, time.Hour, now)
	bucket := bucketLimit("domain_key_value_bucket", big, big, time.Hour)
	b.Run("fixed_add", func(b *testing.B) {
		b.ReportAllocs()
		incs := []Increment{{Key: fixed.Key, Hits: 1, Expiry: time.Hour}}
		counts := make([]uint64, 1)
		for b.Loop() {
			if err := s.Add(context.Background(), incs, counts); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, bc := range []struct {
		name   string
		limits []Limit
	}{
		{"fixed", []Limit{fixed}},
		{"sliding", []Limit{sliding}},
		{"token_bucket", []Limit{bucket}},
		{"multi_limit=2", []Limit{sliding, bucket}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			out := make([]Verdict, len(bc.limits))
			for b.Loop() {
				if ok, err := s.Check(context.Background(), now, bc.limits, out); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
