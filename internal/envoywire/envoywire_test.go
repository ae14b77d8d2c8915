package envoywire

import (
	"bytes"
	"testing"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// On UTF-8 strings the encoding is proto.Marshal's, byte for byte; on
// other bytes it still encodes, where proto.Marshal refuses.
func TestAppendRequestIsTheProtoEncoding(t *testing.T) {
	req := &rlsv3.RateLimitRequest{Domain: "api", HitsAddend: 7, Descriptors: []*commonrl.RateLimitDescriptor{
		{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: "k", Value: "v"}, {Key: "path", Value: ""}},
			Limit:      &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 5, Unit: typev3.RateLimitUnit_HOUR},
			HitsAddend: wrapperspb.UInt64(0), IsNegativeHits: true},
		{},
	}}
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendRequest(nil, req); !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%x\nproto.Marshal\n%x", got, want)
	}
	req.Descriptors[0].Entries[0].Value = "\xff"
	if _, err := proto.Marshal(req); err == nil {
		t.Fatal("proto.Marshal encodes invalid UTF-8 now: this package may be unneeded")
	}
	var back rlsv3.RateLimitRequest
	if err := (proto.UnmarshalOptions{}).Unmarshal(AppendRequest(nil, req), &back); err == nil {
		t.Fatal("the invalid UTF-8 did not reach the encoding")
	}
}
