package policy_test

import (
	"slices"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

func TestBucketKeysFollowTheTree(t *testing.T) {
	snap := testkit.Compile(t, `
domain: edge
descriptors:
  - key: remote_address
    descriptors:
      - key: path
        value: "/api*"
        rate_limit: {unit: second, requests_per_unit: 10}
  - key: tenant
    value: gold
    rate_limit: {unit: minute, requests_per_unit: 100}
`)
	cases := []struct {
		name   string
		bucket map[string]string
		want   []string
	}{
		{"nested, map order ignored", map[string]string{"path": "/api/v1", "remote_address": "10.0.0.1"}, []string{"remote_address", "path"}},
		{"unnamed keys left out", map[string]string{"tenant": "gold", "name": "rlqs"}, []string{"tenant"}},
		{"stops where the value does not match", map[string]string{"remote_address": "10.0.0.1", "path": "/web"}, []string{"remote_address"}},
		{"no level names it", map[string]string{"other": "x"}, nil},
		{"unknown domain", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := policy.BucketKeys(snap, "edge", c.bucket); !slices.Equal(got, c.want) {
				t.Fatalf("BucketKeys(%v) = %v, want %v", c.bucket, got, c.want)
			}
		})
	}
	if got := policy.BucketKeys(snap, "nope", map[string]string{"tenant": "gold"}); got != nil {
		t.Fatalf("unknown domain: %v", got)
	}
}
