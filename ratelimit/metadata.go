package ratelimit

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// MetadataMode says what a response carries as dynamic_metadata.
type MetadataMode uint8

const (
	// MetadataOff sends no dynamic_metadata, as envoyproxy/ratelimit does
	// unless RESPONSE_DYNAMIC_METADATA is set.
	MetadataOff MetadataMode = iota
	// MetadataRequest sends envoyproxy/ratelimit's description of the
	// request (RESPONSE_DYNAMIC_METADATA=true): domain, descriptors,
	// hitsAddend, quotaModeViolations, quotaModeEnabled.
	MetadataRequest
	// MetadataRules sends the `metadata` maps of the matched rules merged
	// into one, a Floodgate extension.
	MetadataRules
)

// metadata builds the response's dynamic_metadata; overQuota lists the
// indexes of quota_mode descriptors that were over their limit.
func (r *request) metadata(mode MetadataMode, req *rlsv3.RateLimitRequest, overQuota []int) *structpb.Struct {
	switch mode {
	case MetadataRequest:
		return r.requestMetadata(req, overQuota)
	case MetadataRules:
		return r.ruleMetadata()
	}
	return nil
}

// requestMetadata is envoyproxy/ratelimit's ratelimitToMetadata, field for
// field: its consumers (Lua filters, access logs) read these names.
func (r *request) requestMetadata(req *rlsv3.RateLimitRequest, overQuota []int) *structpb.Struct {
	fields := make(map[string]*structpb.Value, 5)
	fields["domain"] = structpb.NewStringValue(req.GetDomain())
	descs := make([]*structpb.Value, 0, len(req.GetDescriptors()))
	for _, d := range req.GetDescriptors() {
		if d == nil {
			continue
		}
		descs = append(descs, structpb.NewStructValue(descriptorMetadata(d)))
	}
	fields["descriptors"] = structpb.NewListValue(&structpb.ListValue{Values: descs})
	if h := req.GetHitsAddend(); h != 0 {
		fields["hitsAddend"] = structpb.NewNumberValue(float64(h))
	}
	if len(overQuota) > 0 {
		vs := make([]*structpb.Value, len(overQuota))
		for i, idx := range overQuota {
			vs[i] = structpb.NewNumberValue(float64(idx))
		}
		fields["quotaModeViolations"] = structpb.NewListValue(&structpb.ListValue{Values: vs})
	}
	// As there, a rule counts only if it is checked: not replaced, not
	// unlimited.
	enabled := false
	for i := range r.checks {
		c := &r.checks[i]
		if c.limit != nil && !c.replaced && !c.limit.Unlimited && c.limit.QuotaMode {
			enabled = true
			break
		}
	}
	fields["quotaModeEnabled"] = structpb.NewBoolValue(enabled)
	return &structpb.Struct{Fields: fields}
}

// descriptorMetadata is envoyproxy/ratelimit's descriptorToStruct: entries
// as "key=value", the descriptor's own limit, its hits_addend.
func descriptorMetadata(d *ratelimitv3.RateLimitDescriptor) *structpb.Struct {
	fields := make(map[string]*structpb.Value, 3)
	entries := make([]*structpb.Value, 0, len(d.GetEntries()))
	for _, e := range d.GetEntries() {
		entries = append(entries, structpb.NewStringValue(fmt.Sprintf("%s=%s", e.GetKey(), e.GetValue())))
	}
	fields["entries"] = structpb.NewListValue(&structpb.ListValue{Values: entries})
	if l := d.GetLimit(); l != nil {
		fields["limit"] = structpb.NewStringValue(overrideText(l))
	}
	if h := d.GetHitsAddend(); h != nil {
		fields["hitsAddend"] = structpb.NewNumberValue(float64(h.GetValue()))
	}
	return &structpb.Struct{Fields: fields}
}

// overrideText is the text form envoyproxy/ratelimit sends for a
// descriptor's limit (the message's String()), without the random extra
// spaces protobuf-go puts in that form to keep it from being parsed:
// "requests_per_unit:10 unit:MINUTE", zero fields left out.
func overrideText(l *ratelimitv3.RateLimitDescriptor_RateLimitOverride) string {
	var parts []string
	if n := l.GetRequestsPerUnit(); n != 0 {
		parts = append(parts, "requests_per_unit:"+strconv.FormatUint(uint64(n), 10))
	}
	if u := l.GetUnit(); u != 0 {
		parts = append(parts, "unit:"+u.String())
	}
	return strings.Join(parts, " ")
}

// ruleMetadata merges the `metadata` of every limit the request matched;
// nil when no matched rule has any.
func (r *request) ruleMetadata() *structpb.Struct {
	var merged map[string]any
	for i := range r.checks {
		c := &r.checks[i]
		if c.limit == nil || c.replaced || len(c.limit.Metadata) == 0 {
			continue
		}
		if merged == nil {
			merged = make(map[string]any, len(c.limit.Metadata))
		}
		maps.Copy(merged, c.limit.Metadata)
	}
	if merged == nil {
		return nil
	}
	st, err := structpb.NewStruct(merged)
	if err != nil {
		// The policy loader only produces JSON-like values; a value it let
		// through that protobuf cannot carry is dropped, not fatal.
		return nil
	}
	return st
}
