package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/delayproxy"
	"github.com/floodgate/floodgate/internal/globallink"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/xds/controlplane"
)

const datacentersPolicy = "domain: api\ndescriptors:\n  - key: g\n    rate_limit: {unit: hour, requests_per_unit: 100000, scope: global}\n"

// datacenterEngine is an engine of datacenter dc over a Redis of its own,
// reaching the global tier at globalAddr.
func datacenterEngine(t *testing.T, dc, globalAddr string) *decisions.Engine {
	t.Helper()
	local := testserver.Redis(t)
	lc := redis.NewClient(&redis.Options{Addr: local.Addr})
	gc := redis.NewClient(&redis.Options{Addr: globalAddr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = lc.Close(); _ = gc.Close() })
	e, err := decisions.NewEngine(decisions.EngineOptions{ID: "engine-" + dc, Counter: counter.NewRedis(lc, ""), Publisher: &decisions.MemoryBus{},
		Logger: testkit.Quiet, Global: &decisions.GlobalOptions{Datacenter: dc, Store: counter.NewRedis(gc, ""), Interval: 20 * time.Millisecond,
			Timeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testkit.Compile(t, datacentersPolicy))
	return e
}

// ask is one replica's ask for a token of g=value: traffic on a global key.
func ask(e *decisions.Engine, value string) {
	e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r", Asks: []*enginepb.LeaseAsk{
		{Domain: "api", WindowStart: time.Now().Unix(), Want: 1, Entries: []*enginepb.Entry{{Key: "g", Value: value}}}}})
}

// statusOf is GET /v1/status, which must answer 200 whatever the global tier does.
func statusOf(t *testing.T, srv *controlplane.Server) controlplane.Status {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/status", nil))
	var st controlplane.Status
	if err := json.NewDecoder(rec.Body).Decode(&st); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("/v1/status: %d (%v)", rec.Code, err)
	}
	return st
}

func links(st controlplane.Status) map[string]globallink.Datacenter {
	out := map[string]globallink.Datacenter{}
	for _, d := range st.Datacenters {
		out[d.Datacenter] = d
	}
	return out
}

// The control plane with --global-redis shows both datacenters in contact
// with their leases; a datacenter cut off from the global tier goes stale
// while the other stays up, and is up again once healed; a global tier the
// control plane cannot reach is an error on the status, never a failed one.
func TestControlPlaneShowsDatacenterLinks(t *testing.T) {
	global := testserver.Redis(t)
	wanB, err := delayproxy.New(global.Addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wanB.Close)
	cpLink, err := delayproxy.New(global.Addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cpLink.Close)
	a, b := datacenterEngine(t, "a", global.Addr), datacenterEngine(t, "b", wanB.Addr)

	opts := controlplane.ServerOptions{Logger: testkit.Quiet}
	flags := controlPlaneGlobalFlags{redis: "redis://" + cpLink.Addr, staleAfter: time.Second}
	closeGlobal, err := flags.apply(&opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeGlobal)
	srv, err := controlplane.NewServer(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}

	traffic := func() { ask(a, "x"); ask(b, "y") }
	var st controlplane.Status
	waitUntil(t, "both datacenters up with their leases", func() bool {
		traffic()
		st = statusOf(t, srv)
		dcs := links(st)
		return dcs["a"].Link == globallink.LinkUp && dcs["b"].Link == globallink.LinkUp &&
			len(dcs["a"].Leases) == 1 && dcs["a"].Leases[0].Held > 0 && len(dcs["b"].Leases) == 1 && dcs["b"].Leases[0].Held > 0
	})
	if d := links(st)["b"]; len(d.Engines) != 1 || d.Engines[0].ID != "engine-b" || st.DatacentersError != "" {
		t.Errorf("datacenter b: %+v (%s)", d, st.DatacentersError)
	}

	wanB.Cut()
	waitUntil(t, "b cut off or stale while a stays up", func() bool {
		traffic()
		st = statusOf(t, srv)
		dcs := links(st)
		if dcs["a"].Link != globallink.LinkUp {
			t.Fatalf("a's link while b is cut off: %+v", dcs["a"])
		}
		return dcs["b"].Link == globallink.LinkStale || dcs["b"].Link == globallink.LinkCutOff
	})
	if d := links(st)["b"]; d.Error == "" || len(d.Leases) != 1 {
		t.Errorf("b cut off: %+v", d)
	}

	wanB.Heal()
	waitUntil(t, "b up again", func() bool {
		traffic()
		st = statusOf(t, srv)
		return links(st)["b"].Link == globallink.LinkUp
	})

	cpLink.Cut()
	// Within half a second (one read serves statuses that close).
	waitUntil(t, "the global tier unreachable", func() bool {
		st = statusOf(t, srv)
		return st.DatacentersError != ""
	})
	if len(st.Datacenters) != 0 {
		t.Errorf("status with the global tier unreachable: %+v, %q", st.Datacenters, st.DatacentersError)
	}
}

// waitUntil polls ok within a generous guard against hangs.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 15s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeDatacenterReport writes e's report into the global tier at addr, as
// its engine would.
func writeDatacenterReport(t *testing.T, addr string, e globallink.Engine) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := counter.NewRedis(c, "").MembersReporting(context.Background(), globallink.MembersSet, e.Datacenter, time.Now(), 10*time.Second,
		counter.MemberReport{Field: e.Field(), Value: b, Keep: globallink.ReportKeep}); err != nil {
		t.Fatal(err)
	}
}

// --global-redis on the control plane is checked at start, and leaves the
// status without datacenters when absent.
func TestControlPlaneGlobalFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		f    controlPlaneGlobalFlags
		want string
	}{
		{controlPlaneGlobalFlags{redis: "redis://127.0.0.1:1", staleAfter: 0}, "--global-stale-after"},
		{controlPlaneGlobalFlags{redis: "http://127.0.0.1:1", staleAfter: time.Second}, "--global-redis"},
	} {
		var o controlplane.ServerOptions
		if _, err := tc.f.apply(&o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want it to name %s", tc.f, err, tc.want)
		}
	}
	var o controlplane.ServerOptions
	closeGlobal, err := (&controlPlaneGlobalFlags{staleAfter: time.Second}).apply(&o)
	if err != nil || o.Datacenters != nil {
		t.Errorf("without --global-redis: %v, datacenters source set: %v", err, o.Datacenters != nil)
	}
	closeGlobal()
}
