package replica

import (
	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/ratelimit"
)

// wireEntries copies a request's descriptor entries into the engine's
// wire form, for hit batches and lease asks alike.
func wireEntries(entries []*ratelimitv3.RateLimitDescriptor_Entry) []*enginepb.Entry {
	out := make([]*enginepb.Entry, len(entries))
	for i, e := range entries {
		out[i] = &enginepb.Entry{Key: e.GetKey(), Value: e.GetValue()}
	}
	return out
}

// wireOverride is the descriptor's own limit in the engine's wire form; nil
// when the rule's limit applies.
func wireOverride(it *ratelimit.Item) *enginepb.LimitOverride {
	if !it.Override {
		return nil
	}
	return &enginepb.LimitOverride{RequestsPerUnit: it.RequestsPerUnit, Unit: it.Unit.String(), UnitMultiplier: it.UnitMultiplier}
}
