package integration

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// defaultInterval is the replicas' default report interval and the
// engine's default flush interval.
const defaultInterval = 20 * time.Millisecond

// BenchmarkAsyncDecisionPropagation measures, over a real Redis with one
// engine, three replicas and the default intervals (the replicas report
// hits every 20ms, the engine counts and publishes every 20ms), the time
// from the request that takes a key over its limit on one replica to the
// moment all three replicas enforce it: the replica's flush, the engine's
// flush and count, the publish, and the subscription. One op is one key
// taken over its limit; p50-ms and p99-ms are the delays' percentiles.
//
// Each op starts at a random point of the intervals, as a request does: an
// op started right after the previous decision arrived would always fall
// just after the engine's flush, and wait out both intervals in full. The
// replicas' report tickers still start a few milliseconds after the
// engine's flush ticker, so a batch reaches the engine just after a flush
// and waits most of an interval there, where processes started apart wait
// half of one on average: the figure is up to half an interval high.
func BenchmarkAsyncDecisionPropagation(b *testing.B) {
	c := clustertest.Start(b, cluster.Options{Engines: 1, Replicas: 3, Snapshot: asyncSnapshot(b)})
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
		b.StopTimer()
		time.Sleep(rand.N(defaultInterval))
		b.StartTimer()
		t0 := time.Now()
		if err := c.Limiter(i%3).Limit(ctx, []*ratelimit.Item{it}); err != nil {
			b.Fatal(err)
		}
		deadline := t0.Add(5 * time.Second)
		for {
			all := true
			for r := range 3 {
				if !throttledIn(c.Limiter(r), it.Key, 300) {
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
