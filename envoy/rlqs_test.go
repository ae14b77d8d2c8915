package envoy

import (
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	rlqsfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rate_limit_quota/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/matching/common_inputs/network/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"

	"github.com/floodgate/floodgate/examples"
	"github.com/floodgate/floodgate/policy"
)

// rlqs.yaml's buckets resolve to rules of its domain as Floodgate resolves
// them, and every interval it sets is one Envoy's client takes as it is
// meant: fill intervals of whole seconds (a shorter one breaks the rate).
func TestRLQSConfig(t *testing.T) {
	b := parseBootstrap(t, "rlqs.yaml")
	var cfg *rlqsfilter.RateLimitQuotaFilterConfig
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				m, _ := f.GetTypedConfig().UnmarshalNew()
				hcm, ok := m.(*hcmv3.HttpConnectionManager)
				if !ok {
					continue
				}
				for _, hf := range hcm.GetHttpFilters() {
					if x, _ := hf.GetTypedConfig().UnmarshalNew(); x != nil {
						if c, ok := x.(*rlqsfilter.RateLimitQuotaFilterConfig); ok {
							cfg = c
						}
					}
				}
			}
		}
	}
	if cfg == nil {
		t.Fatal("no rate_limit_quota filter")
	}
	snap, err := policy.Compile(examplePolicies(t))
	if err != nil {
		t.Fatal(err)
	}
	ml := cfg.GetBucketMatchers().GetMatcherList().GetMatchers()
	var settings []*rlqsfilter.RateLimitQuotaBucketSettings
	for _, m := range ml {
		settings = append(settings, bucketSettings(t, m.GetOnMatch().GetAction().GetTypedConfig().GetValue()))
	}
	settings = append(settings, bucketSettings(t, cfg.GetBucketMatchers().GetOnNoMatch().GetAction().GetTypedConfig().GetValue()))
	if len(settings) != 2 {
		t.Fatalf("want the api-key and client-address buckets, got %d", len(settings))
	}
	for _, s := range settings {
		bucket := map[string]string{}
		for k := range s.GetBucketIdBuilder().GetBucketIdBuilder() {
			bucket[k] = "some-value"
		}
		keys := policy.BucketKeys(snap, cfg.GetDomain(), bucket)
		if len(keys) != len(bucket) {
			t.Errorf("bucket %v: domain %s names only %v of its keys", bucket, cfg.GetDomain(), keys)
		}
		var entries []*ratelimitv3.RateLimitDescriptor_Entry
		for _, k := range keys {
			entries = append(entries, &ratelimitv3.RateLimitDescriptor_Entry{Key: k, Value: bucket[k]})
		}
		if l := policy.Find(snap, cfg.GetDomain(), entries); l == nil || l.Unlimited {
			t.Errorf("bucket %v: no counted rule of domain %s", bucket, cfg.GetDomain())
		}
		if iv := s.GetReportingInterval().AsDuration(); iv <= 100*time.Millisecond {
			t.Errorf("bucket %v: reporting interval %v, Envoy wants over 100ms", bucket, iv)
		}
		for _, fb := range fallbackBuckets(s) {
			if d := fb.GetFillInterval().AsDuration(); d < time.Second || d%time.Second != 0 {
				t.Errorf("bucket %v: fallback fill interval %v, Envoy takes whole seconds", bucket, d)
			}
		}
	}
}

// fallbackBuckets are the token buckets of s's no-assignment and expired
// behaviors.
func fallbackBuckets(s *rlqsfilter.RateLimitQuotaBucketSettings) []*typev3.TokenBucket {
	var out []*typev3.TokenBucket
	for _, tb := range []*typev3.TokenBucket{
		s.GetNoAssignmentBehavior().GetFallbackRateLimit().GetTokenBucket(),
		s.GetExpiredAssignmentBehavior().GetFallbackRateLimit().GetTokenBucket(),
	} {
		if tb != nil {
			out = append(out, tb)
		}
	}
	return out
}

func examplePolicies(t *testing.T) []*policy.Config {
	t.Helper()
	entries, err := examples.Policies.ReadDir("policies")
	if err != nil {
		t.Fatal(err)
	}
	var out []*policy.Config
	for _, e := range entries {
		data, _ := examples.Policies.ReadFile("policies/" + e.Name())
		c, err := policy.Parse(e.Name(), data)
		if err != nil {
			t.Fatalf("example %s: %v", e.Name(), err)
		}
		out = append(out, c)
	}
	return out
}

func bucketSettings(t *testing.T, raw []byte) *rlqsfilter.RateLimitQuotaBucketSettings {
	t.Helper()
	var s rlqsfilter.RateLimitQuotaBucketSettings
	if err := proto.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}
