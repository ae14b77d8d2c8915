package integration

import (
	"context"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/envoywire"
	"github.com/floodgate/floodgate/internal/testkit"
)

// FuzzAsyncRequest sends an async deployment (two replicas on leases, one
// engine, over gRPC as Envoy calls it) any request body: any descriptors,
// entries, bytes, overrides and hits. Each is answered with one status per
// descriptor or refused InvalidArgument, in time, whatever the earlier
// requests did to the leases, hits and decisions they fed the engine.
func FuzzAsyncRequest(f *testing.F) {
	f.Add(envoywire.AppendRequest(nil, &rlsv3.RateLimitRequest{Domain: "keys", Descriptors: []*commonrl.RateLimitDescriptor{
		keysDesc("api_key", "\xff\xfe"), keysDesc("api_key", "a", "path", "/p"),
	}}))
	f.Add(envoywire.AppendRequest(nil, &rlsv3.RateLimitRequest{Domain: "keys", HitsAddend: 1 << 31, Descriptors: []*commonrl.RateLimitDescriptor{{
		Entries: keysDesc("api_key", "b").Entries, HitsAddend: wrapperspb.UInt64(1<<64 - 1),
		Limit: &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 1 << 31, Unit: typev3.RateLimitUnit(9)}}}}))
	f.Add([]byte{0x0a, 0x04, 'k', 'e', 'y', 's', 0x12, 0x00})
	c, err := cluster.Start(f.Context(), cluster.Options{Replicas: 2, Snapshot: testkit.Compile(f, keysPolicy), Logger: testkit.Quiet})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(c.Close)
	var calls int
	f.Fuzz(func(t *testing.T, body []byte) {
		calls++
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var resp rlsv3.RateLimitResponse
		err := c.Conn(calls%2).Invoke(ctx, "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit", body, &resp,
			grpc.ForceCodecV2(envoywire.Codec{}))
		if err != nil {
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("%v: want an answer or InvalidArgument", err)
			}
			return
		}
		req := new(rlsv3.RateLimitRequest)
		if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, req); err == nil && len(resp.GetStatuses()) != len(req.GetDescriptors()) {
			t.Fatalf("%d statuses for %d descriptors", len(resp.GetStatuses()), len(req.GetDescriptors()))
		}
	})
}
