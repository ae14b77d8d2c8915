package xds

import (
	"strings"
	"testing"

	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds/policypb"
)

// FuzzDecode feeds a replica's policy path any resource a control plane
// could send, Policy or RateLimitConfig, with any bytes: it decodes and
// compiles or fails with an error naming the resource, and never panics.
func FuzzDecode(f *testing.F) {
	policyBytes, _ := proto.Marshal(&policypb.Policy{Domain: "api", Source: "admin",
		Yaml: "domain: api\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1}\n"})
	rlcBytes, _ := proto.Marshal(&rlsconf.RateLimitConfig{Name: "web", Domain: "web", Descriptors: []*rlsconf.RateLimitDescriptor{{
		Key: "path", Value: "/x", RateLimit: &rlsconf.RateLimitPolicy{Unit: rlsconf.RateLimitUnit_MINUTE, RequestsPerUnit: 3},
		Descriptors: []*rlsconf.RateLimitDescriptor{{Key: "user", RateLimit: &rlsconf.RateLimitPolicy{Unlimited: true}}}}}})
	f.Add(false, policyBytes)
	f.Add(true, rlcBytes)
	f.Add(false, []byte{0x0a, 0x03, 'a', 'p', 'i', 0x1a, 0x02, '[', '['})
	f.Fuzz(func(t *testing.T, rlc bool, value []byte) {
		a := &anypb.Any{TypeUrl: PolicyType, Value: value}
		if rlc {
			a.TypeUrl = RateLimitConfigType
		}
		configs, err := Decode([]*anypb.Any{a})
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "Policy") && !strings.HasPrefix(msg, "RateLimitConfig") && !strings.HasPrefix(msg, "xds:") {
				t.Fatalf("error names no resource: %v", err)
			}
			return
		}
		_, _ = policy.Compile(configs)
	})
}
