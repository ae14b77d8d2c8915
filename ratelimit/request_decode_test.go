package ratelimit

import (
	"testing"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/floodgate/floodgate/internal/envoywire"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// binaryRequest is a request whose domain, keys and values are not UTF-8,
// as Envoy sends when it copies such header bytes into a descriptor.
func binaryRequest() *rlsv3.RateLimitRequest {
	return &rlsv3.RateLimitRequest{Domain: "d\xff", HitsAddend: 2, Descriptors: []*commonrl.RateLimitDescriptor{{
		Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: "k\xc3", Value: "\xff\xfe\x00v"}, {Key: "path", Value: "/ok"}},
		Limit: &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 7, Unit: typev3.RateLimitUnit_HOUR,
			UnitMultiplier: wrapperspb.UInt32(3)},
		HitsAddend: wrapperspb.UInt64(9), IsNegativeHits: true,
	}}}
}

// The standard decoder refuses such a request; decodeRequest keeps every
// byte.
func TestDecodeRequestKeepsBytes(t *testing.T) {
	want := binaryRequest()
	b := envoywire.AppendRequest(nil, want)
	if err := proto.Unmarshal(b, new(rlsv3.RateLimitRequest)); err == nil {
		t.Fatal("proto.Unmarshal accepted invalid UTF-8: the case this decoder exists for is gone")
	}
	got := new(rlsv3.RateLimitRequest)
	if err := decodeRequest(b, got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("decoded %v, want %v", got, want)
	}
}

// Malformed encodings fail, naming where.
func TestDecodeRequestRejectsMalformed(t *testing.T) {
	var desc []byte
	desc = protowire.AppendTag(desc, 1, protowire.BytesType)
	desc = protowire.AppendBytes(desc, []byte{0x0a, 0x05, 'a'}) // a key claiming 5 bytes, of which 1 follows
	var req []byte
	req = protowire.AppendTag(req, 2, protowire.BytesType)
	req = protowire.AppendBytes(req, desc)
	for name, b := range map[string][]byte{
		"truncated length": {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'},
		"field number 0":   {0x00, 0x01},
		"lone end group":   {0x0c},
		"truncated entry":  req,
		"truncated varint": {0x18, 0x80},
	} {
		err := decodeRequest(b, new(rlsv3.RateLimitRequest))
		if err == nil {
			t.Errorf("%s: decoded", name)
			continue
		}
		if proto.Unmarshal(b, new(rlsv3.RateLimitRequest)) == nil {
			t.Errorf("%s: proto.Unmarshal accepts what decodeRequest refuses (%v)", name, err)
		}
	}
	err := decodeRequest(req, new(rlsv3.RateLimitRequest))
	if want := "descriptor 0: entry 0: malformed protobuf"; err == nil || err.Error()[:len(want)] != want {
		t.Fatalf("truncated entry: %v, want it to start %q", err, want)
	}
}

// FuzzDecodeRequest holds decodeRequest to proto.Unmarshal: on every input
// the standard decoder accepts, both decode the same request (unknown
// fields aside, which neither the RLS nor decodeRequest keeps); an input
// decodeRequest refuses, the standard decoder refuses too.
func FuzzDecodeRequest(f *testing.F) {
	valid, _ := proto.Marshal(&rlsv3.RateLimitRequest{Domain: "api", HitsAddend: 3, Descriptors: []*commonrl.RateLimitDescriptor{
		{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: "k", Value: "v"}},
			Limit: &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 5, Unit: typev3.RateLimitUnit_SECOND}},
		{HitsAddend: wrapperspb.UInt64(1 << 40)},
	}})
	binary := envoywire.AppendRequest(nil, binaryRequest())
	f.Add(valid)
	f.Add(binary)
	f.Add(append(append([]byte{}, valid...), 0x12, 0x04, 0x12, 0x02, 0x08, 0x09)) // a second limit merges into the first
	f.Add([]byte{0x0a, 0x01, 'a', 0x08, 0x01, 0xa2, 0x06, 0x00})                  // wrong wire type and an unknown field
	f.Fuzz(func(t *testing.T, b []byte) {
		got := new(rlsv3.RateLimitRequest)
		err := decodeRequest(b, got)
		want := new(rlsv3.RateLimitRequest)
		werr := proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, want)
		switch {
		case werr == nil && err != nil:
			t.Fatalf("decodeRequest refused what proto.Unmarshal accepts: %v", err)
		case werr == nil && !proto.Equal(got, want):
			t.Fatalf("decoded %v, proto.Unmarshal %v", got, want)
		}
	})
}
