package ratelimit

import (
	"sync/atomic"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/floodgate/floodgate/policy"
)

// served is a snapshot with what the service derives from it once rather
// than per request: each rule's current_limit message, shared read-only by
// every response that reports it.
type served struct {
	snap   *policy.Snapshot
	limits []*rlsv3.RateLimitResponse_RateLimit // by Limit.Index
	stats  []*ruleStats                         // by Limit.Index
}

func (s *Service) newServed(snap *policy.Snapshot) *served {
	sv := &served{snap: snap}
	if snap == nil {
		return sv
	}
	sv.limits = make([]*rlsv3.RateLimitResponse_RateLimit, len(snap.Limits))
	sv.stats = make([]*ruleStats, len(snap.Limits))
	for _, l := range snap.Limits {
		sv.limits[l.Index] = limitProto(l.Name, l.RequestsPerUnit, l.Unit, l.UnitMultiplier)
		sv.stats[l.Index] = s.rules.get(l.StatsKey)
	}
	return sv
}

// holds reports whether l is a rule of this snapshot, not a limit made for
// one request (a descriptor's own override).
func (sv *served) holds(l *policy.Limit) bool {
	return sv.snap != nil && l.Index < len(sv.snap.Limits) && sv.snap.Limits[l.Index] == l
}

// currentLimit is the rule's shared message, or a new one for a limit the
// snapshot does not hold.
func (sv *served) currentLimit(l *policy.Limit, rpu uint32, unit policy.Unit, multiplier uint32) *rlsv3.RateLimitResponse_RateLimit {
	if sv.holds(l) {
		return sv.limits[l.Index]
	}
	return limitProto(l.Name, rpu, unit, multiplier)
}

// limitProto is a current_limit; unit_multiplier is set only for windows of
// several units, so a one-unit limit's message stays envoyproxy/ratelimit's.
func limitProto(name string, rpu uint32, unit policy.Unit, multiplier uint32) *rlsv3.RateLimitResponse_RateLimit {
	m := &rlsv3.RateLimitResponse_RateLimit{Name: name, RequestsPerUnit: rpu, Unit: responseUnit(unit)}
	if multiplier > 1 {
		m.UnitMultiplier = wrapperspb.UInt32(multiplier)
	}
	return m
}

// resetDurations caches duration_until_reset messages by whole second, as
// envoyproxy/ratelimit reports it: windows up to an hour cover every value.
var resetDurations [3601]atomic.Pointer[durationpb.Duration]

func resetDuration(seconds int64) *durationpb.Duration {
	if seconds < 0 || seconds >= int64(len(resetDurations)) {
		return &durationpb.Duration{Seconds: seconds}
	}
	if d := resetDurations[seconds].Load(); d != nil {
		return d
	}
	d := &durationpb.Duration{Seconds: seconds}
	resetDurations[seconds].Store(d)
	return d
}
