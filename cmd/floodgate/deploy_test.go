package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate/internal/metrics"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/xds/controlplane"
)

// seriesName finds the Floodgate and envoyproxy/ratelimit series an
// expression queries.
var seriesName = regexp.MustCompile(`\b(?:floodgate|ratelimit)_[a-z0-9_]+\b`)

// Every query of the Grafana board and of the alert rules names a series
// the roles export, so that a renamed series breaks this test, not a
// dashboard.
func TestDashboardAndAlertsQueryExportedSeries(t *testing.T) {
	exported := append(metrics.FamilyNames(), controlPlaneStatusSeries(t)...)
	check := func(where, expr string) {
		names := seriesName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: %q queries no Floodgate series", where, expr)
		}
		for _, n := range names {
			if !slices.Contains(exported, n) {
				t.Errorf("%s: %q queries %s, which no role exports", where, expr, n)
			}
		}
	}

	raw, err := os.ReadFile("../../deploy/grafana/floodgate.json")
	if err != nil {
		t.Fatal(err)
	}
	var board struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &board); err != nil {
		t.Fatalf("deploy/grafana/floodgate.json: %v", err)
	}
	if len(board.Panels) == 0 {
		t.Fatal("deploy/grafana/floodgate.json has no panels")
	}
	for _, p := range board.Panels {
		for _, q := range p.Targets {
			check("grafana panel "+p.Title, q.Expr)
		}
	}

	rules, err := os.ReadFile("../../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exprs := regexp.MustCompile(`(?m)^\s+expr: (\|\n(?:\s{10}.*\n)+|.*)`).FindAllStringSubmatch(string(rules), -1)
	if len(exprs) < 6 {
		t.Fatalf("deploy/prometheus/alerts.yaml: %d alert expressions, want at least 6", len(exprs))
	}
	for _, e := range exprs {
		check("alerts.yaml", e[1])
	}
	promtool(t, "deploy/prometheus/alerts.yaml", "", "check", "rules", "../../deploy/prometheus/alerts.yaml")
}

// controlPlaneStatusSeries are the series the control plane reads from
// /v1/status at each scrape (floodgate_xds_version_info, ...).
func controlPlaneStatusSeries(t *testing.T) []string {
	srv, err := controlplane.NewServer(context.Background(), controlplane.ServerOptions{Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 100)
	srv.StatusCollector().Describe(ch)
	close(ch)
	var names []string
	for d := range ch {
		if m := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}
