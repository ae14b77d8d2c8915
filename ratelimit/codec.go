package ratelimit

import (
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the fallback codec
	"google.golang.org/grpc/mem"
)

// vtMessage is a message with the vtprotobuf marshalers go-control-plane
// generates for the RLS protos.
type vtMessage interface {
	SizeVT() int
	MarshalToSizedBufferVTStrict([]byte) (int, error)
}

// Codec is the RLS's gRPC codec: responses are marshalled by their
// generated vtprotobuf code, without reflection, into pooled buffers;
// everything else (and all unmarshalling) goes through the standard proto
// codec. Use it with grpc.ForceServerCodecV2.
type Codec struct{}

var protoCodec = encoding.GetCodecV2("proto")

func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(vtMessage)
	if !ok {
		return protoCodec.Marshal(v)
	}
	size := m.SizeVT()
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf := make([]byte, size)
		if _, err := m.MarshalToSizedBufferVTStrict(buf); err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	if _, err := m.MarshalToSizedBufferVTStrict((*buf)[:size]); err != nil {
		pool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

func (Codec) Unmarshal(data mem.BufferSlice, v any) error { return protoCodec.Unmarshal(data, v) }

// Name is "proto": on the wire this is the standard protobuf encoding.
func (Codec) Name() string { return "proto" }
