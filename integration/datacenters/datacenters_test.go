package datacenters

import (
	"context"
	"testing"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/multidctest"
)

// Three datacenters in namespaces of their own under one global tier: a
// global key admits its limit once across all of them, a datacenter key
// its limit in each, and a datacenter whose link goes down mid-window
// keeps answering within the fallback bound, then is back within the
// limit once the link is up.
func TestDatacenters(t *testing.T) {
	d := startDeployment(t)
	multidctest.Limits(t, d)
	t.Run("partition", func(t *testing.T) { multidctest.Partition(t, d) })
}

// The deployment is the multidctest.Deployment the scenarios drive: the
// replicas and engines reached by dialing into each namespace, a cut by
// taking a datacenter's link down.

func (d *deployment) Client(dc, r int) rlsv3.RateLimitServiceClient { return d.dcs[dc].clients[r] }

func (d *deployment) Global(t testing.TB, dc, e int) decisions.GlobalStatus {
	t.Helper()
	return d.dcs[dc].global(t, e)
}

func (d *deployment) Holding(t testing.TB, dc int, key string) (map[string]string, error) {
	return d.dcs[dc].redis.HGetAll(context.Background(), key).Result()
}

func (d *deployment) Cut(t testing.TB, dc int)  { d.lab.Cut(t, dc) }
func (d *deployment) Heal(t testing.TB, dc int) { d.lab.Heal(t, dc) }
