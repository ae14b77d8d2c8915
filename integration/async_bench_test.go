package integration

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// BenchmarkAsyncDecisionPropagation measures, over a real Redis with the
// default flush intervals, the time from the request that takes a key over
// its limit on one replica to the moment all three replicas enforce it:
// the replica's flush, the engine's flush and count, the publish, and the
// subscription. One op is one key taken over its limit.
func BenchmarkAsyncDecisionPropagation(b *testing.B) {
	rds := testserver.Redis(b)
	eng := startAsyncEngine(b, rds.Addr, "")
	var lims []*replica.Limiter
	for range 3 {
		lim, err := replica.NewLimiter(replica.Options{
			Engines:   replica.HitReporterOptions{Groups: [][]string{{eng.addr}}, Backoff: asyncBackoff, Logger: asyncQuiet},
			Decisions: asyncRedisBus(b, rds.Addr),
			Logger:    asyncQuiet,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = lim.Close() })
		lims = append(lims, lim)
	}
	asyncEventually(b, "replicas connected", func() bool {
		for _, l := range lims {
			if h := l.Health(); !h.EngineConnected || !h.BusConnected {
				return false
			}
		}
		return true
	})

	ctx := context.Background()
	var delays []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The hour policy allows 300: 301 hits in one Limit call cross it.
		entries := []*commonrl.RateLimitDescriptor_Entry{{Key: "hour", Value: "p" + strconv.Itoa(i)}}
		now := time.Now()
		start := policy.Hour.WindowStart(now.Unix())
		it := &ratelimit.Item{Domain: "integ", Entries: entries, RequestsPerUnit: 300, Unit: policy.Hour,
			Key:         string(policy.AppendCacheKey(nil, "", "integ", entries, nil, start)),
			WindowStart: start, Hits: 301}
		t0 := time.Now()
		if err := lims[i%3].Limit(ctx, []*ratelimit.Item{it}); err != nil {
			b.Fatal(err)
		}
		deadline := t0.Add(5 * time.Second)
		for {
			all := true
			for _, l := range lims {
				if d, ok := l.Cache().Lookup(it.Key, time.Now().Unix()); !ok || d.Count <= 300 {
					all = false
					break
				}
			}
			if all {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("key %d not enforced everywhere after 5s", i)
			}
			time.Sleep(50 * time.Microsecond)
		}
		delays = append(delays, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
}
