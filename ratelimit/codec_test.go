package ratelimit

import (
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// The codec's bytes must decode to the same message as the standard
// codec's, small and large (pooled) alike.
func TestCodecRoundTrips(t *testing.T) {
	small := &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OVER_LIMIT,
		Statuses: []*rlsv3.RateLimitResponse_DescriptorStatus{{Code: rlsv3.RateLimitResponse_OVER_LIMIT,
			CurrentLimit: limitProto("login", 10, 2), LimitRemaining: 0, DurationUntilReset: resetDuration(42)}}}
	large := proto.Clone(small).(*rlsv3.RateLimitResponse)
	md, _ := structpb.NewStruct(map[string]any{"blob": string(make([]byte, 64<<10))})
	large.DynamicMetadata = md
	req := &rlsv3.RateLimitRequest{Domain: "api", Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("k", "v")}}
	for name, msg := range map[string]proto.Message{"small": small, "large": large, "request (fallback)": req} {
		data, err := Codec{}.Marshal(msg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := msg.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(data.Materialize(), got); err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if !proto.Equal(got, msg) {
			t.Fatalf("%s: round trip changed the message", name)
		}
		data.Free()
		back := msg.ProtoReflect().New().Interface()
		if err := (Codec{}).Unmarshal(mustMarshal(t, msg), back); err != nil || !proto.Equal(back, msg) {
			t.Fatalf("%s: codec unmarshal: %v", name, err)
		}
	}
}

func mustMarshal(t *testing.T, m proto.Message) mem.BufferSlice {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}
}
