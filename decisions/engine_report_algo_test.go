package decisions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
)

const bucketPolicy = `
domain: api
descriptors:
  - key: tenant
    rate_limit: {unit: minute, requests_per_unit: 10, algorithm: token_bucket, burst: 20}
`

// Reported hits of a token bucket (report mode) are counted as a fixed
// window of its unit: over its rate, the key is throttled until that
// window ends. Before, their window had ended at the epoch's first
// minute, so every hit was dropped as stale and the key never throttled.
func TestEngineCountsReportedBucketHitsPerWindow(t *testing.T) {
	const t0 = 1_700_000_010
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	pub := &publishLog{}
	clk := &clock{now: time.Unix(t0, 0)}
	e, err := NewEngine(EngineOptions{ID: "e", Counter: store, Publisher: pub, FlushInterval: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testkit.Compile(t, bucketPolicy))

	if got := e.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hit([]string{"tenant", "t1"}, 11, t0)}}); got != 11 {
		t.Fatalf("accepted %d of 11 hits", got)
	}
	e.Flush(context.Background())
	ds := pub.take()
	if len(ds) != 1 || ds[0].State != Throttled || !strings.HasSuffix(ds[0].Key, "@token_bucket_0") || ds[0].WindowEnd != t0-t0%60+60 {
		t.Fatalf("published %+v, want the bucket's key throttled until the minute ends", ds)
	}
}
