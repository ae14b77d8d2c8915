package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/floodgate/floodgate/internal/globallink"
	"github.com/floodgate/floodgate/internal/testkit"
)

// /v1/status shows the datacenters the global tier holds reports of, and
// their series; a global tier that does not answer is an error on the
// page, not a failed status.
func TestStatusShowsDatacenters(t *testing.T) {
	var down atomic.Bool
	var reads atomic.Int32
	dcs := []globallink.Datacenter{
		{Datacenter: "eu", Link: globallink.LinkUp, ReportAge: 0.5, Engines: []globallink.Engine{{ID: "e1", Link: globallink.Link{Datacenter: "eu", Up: true}}},
			Leases: []globallink.Lease{{Key: "k", Limit: 100, Held: 10}}},
		{Datacenter: "us", Link: globallink.LinkStale, ReportAge: 12, Error: "no report for 12s"},
	}
	cp := startControlPlane(t, ServerOptions{Logger: testkit.Quiet, Datacenters: func(ctx context.Context) ([]globallink.Datacenter, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the global tier is read without a deadline")
		}
		reads.Add(1)
		if down.Load() {
			return nil, errors.New("global tier reports: connection refused")
		}
		return dcs, nil
	}})
	var st Status
	code, body, _ := do(t, nil, http.MethodGet, cp.httpURL+"/v1/status", "", "")
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != http.StatusOK {
		t.Fatalf("status: %d %s (%v)", code, body, err)
	}
	if len(st.Datacenters) != 2 || st.Datacenters[0].Link != "up" || st.Datacenters[0].Leases[0].Held != 10 || st.Datacenters[1].Link != "stale" ||
		st.DatacentersError != "" {
		t.Errorf("datacenters: %+v %q", st.Datacenters, st.DatacentersError)
	}
	var raw struct {
		Datacenters []map[string]any `json:"datacenters"`
	}
	_ = json.Unmarshal([]byte(body), &raw)
	for _, k := range []string{"datacenter", "link", "error", "reported_at", "report_age_seconds", "engines", "leases"} {
		if _, ok := raw.Datacenters[1][k]; !ok {
			t.Errorf("a datacenter has no %q: %s", k, body)
		}
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cp.StatusCollector())
	want := `
# HELP floodgate_global_datacenter_report_age_seconds Age of a datacenter's newest report in the global tier: it grows while the datacenter is cut off or down.
# TYPE floodgate_global_datacenter_report_age_seconds gauge
floodgate_global_datacenter_report_age_seconds{datacenter="eu"} 0.5
floodgate_global_datacenter_report_age_seconds{datacenter="us"} 12
# HELP floodgate_global_datacenter_up 1 while a datacenter's engines report it in contact with the global tier, 0 when cut off or silent (--global-redis).
# TYPE floodgate_global_datacenter_up gauge
floodgate_global_datacenter_up{datacenter="eu"} 1
floodgate_global_datacenter_up{datacenter="us"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "floodgate_global_datacenter_up", "floodgate_global_datacenter_report_age_seconds"); err != nil {
		t.Error(err)
	}

	// Statuses close together share one read: the dashboard asks several
	// times a refresh.
	before, at := reads.Load(), time.Now()
	do(t, nil, http.MethodGet, cp.httpURL+"/v1/status", "", "")
	do(t, nil, http.MethodGet, cp.httpURL+"/v1/status", "", "")
	if n := reads.Load() - before; time.Since(at) < datacentersFresh && n > 1 {
		t.Errorf("two statuses within %s read the global tier %d times", datacentersFresh, n)
	}

	down.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body, _ = do(t, nil, http.MethodGet, cp.httpURL+"/v1/status", "", "")
		st = Status{}
		if err := json.Unmarshal([]byte(body), &st); err != nil || code != http.StatusOK {
			t.Fatalf("status with the global tier down: %d %s", code, body)
		}
		if st.DatacentersError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the global tier's failure never showed: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(st.DatacentersError, "connection refused") || st.Datacenters == nil || len(st.Datacenters) != 0 {
		t.Errorf("status with the global tier down: %d %s", code, body)
	}
}

// Without a global tier the status has no datacenters at all.
func TestStatusWithoutGlobalTier(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{Logger: testkit.Quiet})
	_, body, _ := do(t, nil, http.MethodGet, cp.httpURL+"/v1/status", "", "")
	if strings.Contains(body, "datacenters") {
		t.Errorf("status: %s", body)
	}
}
