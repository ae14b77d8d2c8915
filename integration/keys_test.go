package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

const keysPolicy = `
domain: keys
descriptors:
  - key: api_key
    rate_limit: {unit: minute, requests_per_unit: 3}
    descriptors:
      - key: path
        rate_limit: {unit: minute, requests_per_unit: 3}
`

func startKeys(t *testing.T, enc policy.KeyEncoding) (*cluster.Cluster, gostats.Store) {
	t.Helper()
	st := gostats.NewStore(gostats.NewNullSink(), false)
	c, err := cluster.Start(t.Context(), cluster.Options{Replicas: 2, Snapshot: testkit.Compile(t, keysPolicy),
		KeyEncoding: enc, Stats: st, Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, st
}

func keysDesc(kv ...string) *commonrl.RateLimitDescriptor {
	d := &commonrl.RateLimitDescriptor{}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Entries = append(d.Entries, &commonrl.RateLimitDescriptor_Entry{Key: kv[i], Value: kv[i+1]})
	}
	return d
}

func askKeys(t *testing.T, c *cluster.Cluster, replica int, hits uint32, d *commonrl.RateLimitDescriptor) rlsv3.RateLimitResponse_Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.Client(replica).ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "keys",
		Descriptors: []*commonrl.RateLimitDescriptor{d}, HitsAddend: hits})
	if err != nil {
		t.Fatalf("replica %d: %v", replica, err)
	}
	return resp.GetOverallCode()
}

// waitApplied waits until the replicas have applied n decisions between
// them: what a replica answers next reflects the engine's decisions.
func waitApplied(t *testing.T, st gostats.Store, n uint64) {
	t.Helper()
	applied := st.NewCounter("decision_cache.decisions_applied")
	testkit.Eventually(t, "the replicas to apply the engine's decisions", func() bool { return applied.Value() >= n })
}

const (
	ok   = rlsv3.RateLimitResponse_OK
	over = rlsv3.RateLimitResponse_OVER_LIMIT
)

// A limit override of 0 denies the requests that carry it, and only them:
// before, the engine published its throttle under the descriptor's key and
// every replica denied every caller of that key for the whole window.
func TestOverrideConcernsOnlyItsCaller(t *testing.T) {
	c, st := startKeys(t, policy.KeyCompat)
	zero := keysDesc("api_key", "shared")
	zero.Limit = &commonrl.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 0, Unit: typev3.RateLimitUnit_MINUTE}
	for range 3 {
		if got := askKeys(t, c, 0, 1, zero); got != over {
			t.Fatalf("the caller with override 0 got %v", got)
		}
	}
	waitApplied(t, st, 2) // the override's throttle, at both replicas
	for r := range 2 {
		if got := askKeys(t, c, r, 1, keysDesc("api_key", "shared")); got != ok {
			t.Errorf("replica %d: a caller without the override got %v", r, got)
		}
		if got := askKeys(t, c, r, 1, zero); got != over {
			t.Errorf("replica %d: the caller with override 0 got %v", r, got)
		}
	}
}

// In compat encoding api_key=victim_path_/v1/search shares the counter of
// (api_key=victim, path=/v1/search), as in envoyproxy/ratelimit; in
// unambiguous encoding it does not. In both, and for a key long enough to
// be stored by its digest, a decision the engine made from one replica's
// hits is what the other replica looks up.
func TestKeyEncodingAcrossReplicaAndEngine(t *testing.T) {
	long := strings.Repeat("k", 4<<10)
	for _, tt := range []struct {
		enc   policy.KeyEncoding
		share bool
	}{{policy.KeyCompat, true}, {policy.KeyUnambiguous, false}} {
		t.Run(tt.enc.String(), func(t *testing.T) {
			c, st := startKeys(t, tt.enc)
			one := keysDesc("api_key", "victim_path_/v1/search")
			two := keysDesc("api_key", "victim", "path", "/v1/search")
			longKey := keysDesc("api_key", long)
			// Over the limit of 3 from replica 0 alone.
			if got := askKeys(t, c, 0, 4, one); got != over {
				t.Fatalf("4 hits over a limit of 3 got %v", got)
			}
			if got := askKeys(t, c, 0, 4, longKey); got != over {
				t.Fatalf("4 hits of the long key got %v", got)
			}
			waitApplied(t, st, 4) // two throttles at two replicas
			// Replica 1 counted none of these: it denies by the engine's keys.
			if got := askKeys(t, c, 1, 1, one); got != over {
				t.Errorf("replica 1 does not find the engine's decision for the key it builds: %v", got)
			}
			if got := askKeys(t, c, 1, 1, longKey); got != over {
				t.Errorf("replica 1 does not find the engine's decision for the digested key: %v", got)
			}
			want := ok
			if tt.share {
				want = over
			}
			if got := askKeys(t, c, 1, 1, two); got != want {
				t.Errorf("(api_key=victim, path=/v1/search) got %v, want %v (shared counter: %v)", got, want, tt.share)
			}
		})
	}
}
