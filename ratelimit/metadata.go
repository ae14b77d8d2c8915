package ratelimit

import (
	"maps"

	"google.golang.org/protobuf/types/known/structpb"
)

// metadata merges the `metadata` of every limit the request matched into
// the response's dynamic_metadata; nil when no matched rule has any.
func (r *request) metadata() *structpb.Struct {
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
