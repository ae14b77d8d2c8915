package ratelimit

import (
	"context"
	"reflect"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestMetadataOffByDefault(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	if md := r.call(t, "api", desc("tagged", "x")).DynamicMetadata; md != nil {
		t.Fatalf("dynamic_metadata = %v, want none unless enabled", md)
	}
}

// The request mode builds exactly envoyproxy/ratelimit's ratelimitToMetadata.
func TestMetadataRequestIsEnvoyRatelimitShape(t *testing.T) {
	r := startRLS(t, Options{Metadata: MetadataRequest}, testPolicy)
	override := desc("tagged", "y")
	override.Limit = &ratelimitv3.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 10, Unit: typev3.RateLimitUnit_MINUTE}
	override.HitsAddend = wrapperspb.UInt64(1)
	resp, err := r.client.ShouldRateLimit(context.Background(), &rlsv3.RateLimitRequest{
		Domain:      "api",
		HitsAddend:  2,
		Descriptors: []*ratelimitv3.RateLimitDescriptor{desc("path", "/login"), desc("quota_a", "x"), override},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"domain": "api",
		"descriptors": []any{
			map[string]any{"entries": []any{"path=/login"}},
			map[string]any{"entries": []any{"quota_a=x"}},
			map[string]any{"entries": []any{"tagged=y"}, "limit": "requests_per_unit:10 unit:MINUTE", "hitsAddend": float64(1)},
		},
		"hitsAddend":          float64(2),
		"quotaModeViolations": []any{float64(1)},
		"quotaModeEnabled":    true,
	}
	if got := resp.DynamicMetadata.AsMap(); !reflect.DeepEqual(got, want) {
		t.Fatalf("dynamic_metadata =\n%v\nwant\n%v", got, want)
	}

	// No hits_addend and no quota rule: those fields are left out, the rule's
	// own `metadata` is not sent, and OVER_LIMIT descriptors are described
	// like any other.
	r.call(t, "api", desc("blocked", "b"))
	resp = r.call(t, "api", desc("blocked", "b"), desc("tagged", "z"))
	want = map[string]any{
		"domain": "api",
		"descriptors": []any{
			map[string]any{"entries": []any{"blocked=b"}},
			map[string]any{"entries": []any{"tagged=z"}},
		},
		"quotaModeEnabled": false,
	}
	if got := resp.DynamicMetadata.AsMap(); !reflect.DeepEqual(got, want) {
		t.Fatalf("dynamic_metadata =\n%v\nwant\n%v", got, want)
	}
}

func TestMetadataRulesMergesMatchedRules(t *testing.T) {
	r := startRLS(t, Options{Metadata: MetadataRules}, testPolicy)
	m := r.call(t, "api", desc("tagged", "x")).DynamicMetadata.AsMap()
	if m["team"] != "payments" || m["tier"] != float64(2) {
		t.Errorf("dynamic_metadata = %v", m)
	}
	if md := r.call(t, "api", desc("path", "/login")).DynamicMetadata; md != nil {
		t.Errorf("no matched rule has metadata, got %v", md)
	}
}
