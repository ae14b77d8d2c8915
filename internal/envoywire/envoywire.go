// Package envoywire encodes RateLimitRequests as Envoy does: strings go
// out as the bytes they are, UTF-8 or not. Go's proto marshaller refuses
// to send what Envoy sends, so tests and load tools that must send it use
// this encoding.
package envoywire

import (
	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the codec Codec falls back to
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// Codec is a client codec that encodes a RateLimitRequest with
// AppendRequest and a []byte as the body itself, as a broken or hostile
// client would send it; everything else goes through the standard codec.
// Use it with grpc.ForceCodecV2.
type Codec struct{}

var stdCodec = encoding.GetCodecV2("proto")

func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	switch v := v.(type) {
	case *rlsv3.RateLimitRequest:
		return mem.BufferSlice{mem.SliceBuffer(AppendRequest(nil, v))}, nil
	case []byte:
		return mem.BufferSlice{mem.SliceBuffer(v)}, nil
	}
	return stdCodec.Marshal(v)
}

func (Codec) Unmarshal(data mem.BufferSlice, v any) error { return stdCodec.Unmarshal(data, v) }

func (Codec) Name() string { return "proto" }

// AppendRequest appends the wire encoding of r to b, strings unchecked.
func AppendRequest(b []byte, r *rlsv3.RateLimitRequest) []byte {
	b = appendString(b, 1, r.GetDomain())
	for _, d := range r.GetDescriptors() {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, appendDescriptor(nil, d))
	}
	return appendVarint(b, 3, uint64(r.GetHitsAddend()))
}

func appendDescriptor(b []byte, d *commonrl.RateLimitDescriptor) []byte {
	for _, e := range d.GetEntries() {
		entry := appendString(appendString(nil, 1, e.GetKey()), 2, e.GetValue())
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, entry)
	}
	if l := d.GetLimit(); l != nil {
		o := appendVarint(appendVarint(nil, 1, uint64(l.GetRequestsPerUnit())), 2, uint64(l.GetUnit()))
		if m := l.GetUnitMultiplier(); m != nil {
			o = protowire.AppendTag(o, 3, protowire.BytesType)
			o = protowire.AppendBytes(o, appendVarint(nil, 1, uint64(m.GetValue())))
		}
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, o)
	}
	if h := d.GetHitsAddend(); h != nil {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, appendVarint(nil, 1, h.GetValue()))
	}
	if d.GetIsNegativeHits() {
		b = appendVarint(b, 4, 1)
	}
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}
