package load

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

// The async path never refuses a request before the engine has counted the
// limit, and every replica ends up enforcing it, over either bus.
func TestDeploymentAccuracy(t *testing.T) {
	for _, tc := range []struct {
		name, bus string
		redis     func(t *testing.T) string
	}{
		{"in memory", "in-memory bus", func(*testing.T) string { return "" }},
		{"redis", "Redis bus", func(t *testing.T) string { return "redis://" + testserver.Redis(t).Addr + "/0" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := DeploymentAccuracy(context.Background(), &out, DeploymentAccuracyOptions{Replicas: 2,
				Redis: tc.redis(t), Interval: 5 * time.Millisecond, Limit: 50, Rate: 1000, Duration: 400 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.Admitted < res.Limit || res.Admitted >= res.Sent {
				t.Fatalf("admitted %d of %d sent, limit %d", res.Admitted, res.Sent, res.Limit)
			}
			for i, d := range res.PerReplica {
				if d < 0 {
					t.Fatalf("replica %d never enforced the limit:\n%s", i, out.String())
				}
			}
			for _, want := range []string{"2 replicas, " + tc.bus, "admitted/limit", "last replica enforcing"} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("report lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestDeploymentAccuracyChecksTheLimit(t *testing.T) {
	for _, limit := range []uint64{0, 1<<31 + 1} {
		if _, err := DeploymentAccuracy(context.Background(), nil, DeploymentAccuracyOptions{Replicas: 1, Limit: limit,
			Duration: time.Second}); err == nil {
			t.Errorf("limit %d accepted", limit)
		}
	}
}
