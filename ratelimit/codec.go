package ratelimit

import (
	"context"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the fallback codec
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// vtMessage is a message with the vtprotobuf marshalers go-control-plane
// generates for the RLS protos.
type vtMessage interface {
	SizeVT() int
	MarshalToSizedBufferVTStrict([]byte) (int, error)
}

// Codec is the RLS's gRPC codec: responses are marshalled by their
// generated vtprotobuf code, without reflection, into pooled buffers;
// requests are decoded by decodeRequest, which takes strings as bytes;
// everything else goes through the standard proto codec. Use it with
// grpc.ForceServerCodecV2.
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

// Unmarshal decodes a RateLimitRequest with decodeRequest and everything
// else with the standard proto codec; a request that does not
// decode into a decodeTarget is recorded there (see decodeTarget).
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	if t, ok := v.(*decodeTarget); ok {
		t.err = unmarshal(data, t.Message)
		return nil
	}
	return unmarshal(data, v)
}

// unmarshal decodes a RateLimitRequest with decodeRequest, which takes
// strings as bytes; anything else with the standard codec.
func unmarshal(data mem.BufferSlice, v any) error {
	req, ok := v.(*rlsv3.RateLimitRequest)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	proto.Reset(req)
	return decodeRequest(buf.ReadOnlyData(), req)
}

// Name is "proto": on the wire this is the standard protobuf encoding.
func (Codec) Name() string { return "proto" }

// decodeTarget is what a method registered by invalidArgumentOnDecode
// decodes its request into: the request, and the error that decoding it
// met. Codec records the error there instead of returning it; gRPC would
// answer it Internal (it flattens a codec's error into an Internal status
// and sends it before the handler returns), which tells a client the
// server failed when its own bytes were wrong. Under another codec the
// embedded message decodes as usual.
type decodeTarget struct {
	proto.Message
	err error
}

// invalidArgumentOnDecode returns a copy of sd whose unary methods answer
// InvalidArgument to a request that does not decode, on a server using
// Codec.
func invalidArgumentOnDecode(sd *grpc.ServiceDesc) *grpc.ServiceDesc {
	c := *sd
	c.Methods = make([]grpc.MethodDesc, len(sd.Methods))
	for i, m := range sd.Methods {
		handler := m.Handler
		c.Methods[i] = grpc.MethodDesc{
			MethodName: m.MethodName,
			Handler: func(srv any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
				return handler(srv, ctx, func(v any) error {
					msg, ok := v.(proto.Message)
					if !ok {
						return dec(v)
					}
					t := &decodeTarget{Message: msg}
					if err := dec(t); err != nil {
						return err
					}
					if t.err != nil {
						return status.Error(codes.InvalidArgument, "request does not decode: "+t.err.Error())
					}
					return nil
				}, in)
			},
		}
	}
	return &c
}
