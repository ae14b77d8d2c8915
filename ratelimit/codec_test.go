package ratelimit

import (
	"context"
	"net"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/floodgate/floodgate/internal/counter"
)

// The codec's bytes must decode to the same message as the standard
// codec's, small and large (pooled) alike.
func TestCodecRoundTrips(t *testing.T) {
	small := &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OVER_LIMIT,
		Statuses: []*rlsv3.RateLimitResponse_DescriptorStatus{{Code: rlsv3.RateLimitResponse_OVER_LIMIT,
			CurrentLimit: limitProto("login", 10, 2, 0), LimitRemaining: 0, DurationUntilReset: resetDuration(42)}}}
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

// rawCodec sends a []byte as the message body, as a broken or hostile
// client would.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }
func (rawCodec) Name() string                         { return "proto" }

// A request body that is not a RateLimitRequest is the caller's error:
// InvalidArgument, not Internal, on the RLS's codec.
func TestGarbageRequestIsInvalidArgument(t *testing.T) {
	for name, opts := range map[string][]grpc.ServerOption{
		"rls codec": {grpc.ForceServerCodecV2(Codec{})},
	} {
		t.Run(name, func(t *testing.T) {
			svc := NewService(Options{Limiter: NewExactLimiter(counter.NewMemory())})
			svc.SetSnapshot(compile(t, "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1}\n"))
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			g := grpc.NewServer(opts...)
			svc.Register(g)
			go g.Serve(lis)
			t.Cleanup(g.Stop)
			cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			garbage := []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'} // field 1 claims more bytes than follow
			var reply []byte
			err = cc.Invoke(context.Background(), "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit",
				garbage, &reply, grpc.ForceCodecV2(rawCodec{}))
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("garbage request: %v, want InvalidArgument", err)
			}
			// A request that decodes is still answered.
			resp, err := rlsv3.NewRateLimitServiceClient(cc).ShouldRateLimit(context.Background(),
				&rlsv3.RateLimitRequest{Domain: "d", Descriptors: []*ratelimitv3.RateLimitDescriptor{{
					Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "k", Value: "v"}}}}})
			if err != nil || resp.GetOverallCode() != rlsv3.RateLimitResponse_OK {
				t.Fatalf("valid request: %v, %v", resp, err)
			}
		})
	}
}
