package decisions

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/globallink"
	"github.com/floodgate/floodgate/internal/testserver"
)

// Each datacenter's engine reports its link and its leases into the
// global tier, where one read shows both datacenters.
func TestGlobalTierReportsEachEngine(t *testing.T) {
	global := testserver.Redis(t)
	gc := redis.NewClient(&redis.Options{Addr: global.Addr})
	t.Cleanup(func() { _ = gc.Close() })
	a, b := globalEngine(t, "a", global.Addr), globalEngine(t, "b", global.Addr)
	store := counter.NewRedis(gc, "")
	var dcs []globallink.Datacenter
	// A report carries the count of the round before: 2 from the second.
	waitFor(t, "both datacenters' reports with their leases", func() bool {
		grantUntil(t, a, "v", 1) // keeps the keys asked for
		grantUntil(t, b, "w", 1)
		var err error
		dcs, err = globallink.Read(context.Background(), store, time.Now(), 0)
		return err == nil && len(dcs) == 2 && len(dcs[0].Leases) == 1 && len(dcs[1].Leases) == 1 && dcs[0].Leases[0].Held > 0 &&
			dcs[0].Engines[0].Datacenters == 2 && dcs[1].Engines[0].Datacenters == 2
	})
	for i, want := range []struct{ dc, engine string }{{"a", a.ID()}, {"b", b.ID()}} {
		d := dcs[i]
		if d.Datacenter != want.dc || d.Link != globallink.LinkUp || len(d.Engines) != 1 || d.Engines[0].ID != want.engine ||
			d.Engines[0].Datacenters != 2 || d.ReportAge > 2 {
			t.Errorf("datacenter %d: %+v", i, d)
		}
	}
}
