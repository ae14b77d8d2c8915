package ratelimit

import (
	"sync/atomic"

	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/redisconn"
	"github.com/floodgate/floodgate/internal/testserver"
)

const tenMinutePolicy = `
domain: report
descriptors:
  - key: report
    rate_limit: {unit: minute, unit_multiplier: 10, requests_per_unit: 2}
`

// startTenMinutes serves tenMinutePolicy in exact mode on Redis, on a
// clock 7 minutes into a 10-minute window aligned to the epoch that the
// test moves by offset.
func startTenMinutes(t *testing.T) (*testRLS, *atomic.Int64) {
	srv := testserver.Redis(t)
	client, err := redisconn.New("redis://" + srv.Addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	start := time.Now().Truncate(10 * time.Minute).Add(7 * time.Minute)
	offset := new(atomic.Int64)
	now := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	return startRLS(t, Options{Limiter: NewExactLimiter(counter.NewRedis(client, "")), Now: now}, tenMinutePolicy), offset
}

// A window of 10 minutes counts for 10 minutes in exact mode on Redis: a
// minute boundary inside it resets nothing, its end does, and
// duration_until_reset runs to its end.
func TestExactModeWindowsOfSeveralUnits(t *testing.T) {
	r, offset := startTenMinutes(t)
	key := desc("report", "r1")

	first := r.call(t, "report", key).Statuses[0]
	if got := first.DurationUntilReset.AsDuration(); got != 3*time.Minute {
		t.Errorf("duration_until_reset = %v, want the 3 minutes left of the 10-minute window", got)
	}
	if cl := first.CurrentLimit; cl.GetUnitMultiplier().GetValue() != 10 || cl.GetRequestsPerUnit() != 2 {
		t.Errorf("current_limit = %v, want 2 per 10 minutes", cl)
	}
	r.call(t, "report", key)
	offset.Store(int64(2 * time.Minute)) // past a minute boundary, inside the window
	if got := codesOf(r.call(t, "report", key)); got != "OVER_LIMIT OVER_LIMIT" {
		t.Errorf("3rd hit 2 minutes later, same 10-minute window: %s", got)
	}
	offset.Store(int64(3 * time.Minute)) // the next window
	if got := codesOf(r.call(t, "report", key)); got != "OK OK" {
		t.Errorf("first hit of the next window: %s", got)
	}
}

// A descriptor's own limit with unit_multiplier is honoured: its window is
// that many units, and current_limit says so.
func TestExactModeOverrideOfSeveralUnits(t *testing.T) {
	r, offset := startTenMinutes(t)
	d := desc("report", "r2")
	d.Limit = &ratelimitv3.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 1, Unit: typev3.RateLimitUnit_MINUTE,
		UnitMultiplier: wrapperspb.UInt32(10)}

	first := r.call(t, "report", d).Statuses[0]
	if cl := first.CurrentLimit; cl.GetUnitMultiplier().GetValue() != 10 || cl.GetRequestsPerUnit() != 1 {
		t.Errorf("current_limit = %v, want 1 per 10 minutes", cl)
	}
	if got := first.DurationUntilReset.AsDuration(); got != 3*time.Minute {
		t.Errorf("duration_until_reset = %v, want the 3 minutes left of the 10-minute window", got)
	}
	offset.Store(int64(2 * time.Minute))
	if got := codesOf(r.call(t, "report", d)); got != "OVER_LIMIT OVER_LIMIT" {
		t.Errorf("2 minutes later, same 10-minute window: %s", got)
	}
}
