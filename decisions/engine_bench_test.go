package decisions

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
)

// BenchmarkEngineIngest measures the engine's intake on one goroutine:
// matching, windowing and aggregating hits, plus the flush into an
// in-memory counter store, in batches of 1024 hits over 4096 keys.
func BenchmarkEngineIngest(b *testing.B) {
	now := time.Now()
	clk := &clock{now: now}
	store := counter.NewMemory()
	b.Cleanup(func() { _ = store.Close() })
	e := newTestEngine(b, store, &MemoryBus{}, clk, "")
	batches := make([]*enginepb.HitBatch, 4)
	for i := range batches {
		bt := &enginepb.HitBatch{ReplicaId: "r"}
		for j := range 1024 {
			bt.Hits = append(bt.Hits, hit([]string{"user", strconv.Itoa(i*1024 + j)}, 1, now.Unix()))
		}
		batches[i] = bt
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Ingest(batches[i%len(batches)])
		if i%16 == 15 {
			e.Flush(ctx)
		}
	}
	e.Flush(ctx)
	b.StopTimer()
	b.ReportMetric(float64(b.N)*1024/b.Elapsed().Seconds(), "hits/s")
}
