package main

import (
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/load"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

func TestBenchSideBySide(t *testing.T) {
	rows := benchCSV(t, "--start", "async,async-report", "--workers", "2,4", "--count", "300",
		"--rounds", "1", "--warmup", "0")
	// header, then baseline and both modes at each concurrency
	if len(rows) != 7 || rows[1][0] != "baseline" || rows[2][0] != "floodgate-async" ||
		rows[3][0] != "floodgate-async-report" || rows[6][1] != "4" {
		t.Fatalf("csv rows = %v", rows)
	}
	for _, r := range rows[1:] {
		if r[7] != "0" {
			t.Errorf("%s with %s workers had %s errors", r[0], r[1], r[7])
		}
	}
}

// benchCSV runs bench with args and --csv, and returns the CSV's rows.
func benchCSV(t *testing.T, args ...string) [][]string {
	t.Helper()
	csvPath := filepath.Join(t.TempDir(), "bench.csv")
	if err := runBench(context.Background(), append(args, "--csv", csvPath)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// bench --accuracy maps its flags onto load.DeploymentAccuracy, whose own
// tests check the accuracy; this checks that the flags reach it.
func TestBenchAccuracy(t *testing.T) {
	rows := benchCSV(t, "--accuracy", "--modes", "lease", "--engines", "1", "--replicas", "2",
		"--unit", "hour", "--limit", "60", "--small-limit", "0", "--workers", "8", "--duration", "200ms")
	// header, then lease mode's cold and warm cases
	if len(rows) != 3 || rows[1][0] != "cold" || rows[2][0] != "warm" || rows[1][1] != "lease" || rows[1][2] != "60" {
		t.Fatalf("csv rows = %v", rows)
	}
}

// --fault runs the cold case under each fault named, in a case set of its
// own.
func TestBenchAccuracyFault(t *testing.T) {
	rows := benchCSV(t, "--accuracy", "--modes", "lease", "--replicas", "2", "--unit", "hour",
		"--limit", "60", "--small-limit", "0", "--workers", "8", "--duration", "200ms", "--fault", "none,engine-kill")
	// header, then the healthy cold and warm cases and the cold case under
	// the fault
	if len(rows) != 4 || rows[1][0] != "cold" || rows[2][0] != "warm" || rows[3][0] != "cold+engine-kill" || rows[3][7] != "0" {
		t.Fatalf("csv rows = %v", rows)
	}
}

// Without --duration and --rounds, --accuracy takes its own defaults.
func TestBenchAccuracyDefaults(t *testing.T) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var f benchFlags
	f.register(fs)
	if err := fs.Parse([]string{"--accuracy"}); err != nil {
		t.Fatal(err)
	}
	f.set = map[string]bool{}
	o, err := f.accuracyOptions()
	if err != nil {
		t.Fatal(err)
	}
	if o.Duration != 2*time.Second || o.Runs != 1 || o.Engines != 2 || o.Unit != "minute" || o.Limit != 2000 ||
		o.SmallLimit != 20 || o.Rate != 0 || o.Workers != 64 || len(o.Modes) != 2 || o.Modes[0] != replica.ModeReport ||
		len(o.Faults) != 1 || o.Faults[0] != load.FaultNone {
		t.Fatalf("options %+v", o)
	}
	for _, bad := range [][]string{{"--modes", "exact"}, {"--modes", "lease,"}, {"--workers", "4,8"},
		{"--fault", "engine-crash"}, {"--fault", "redis-restart", "--redis", "redis://127.0.0.1:1"}} {
		g := benchFlags{set: map[string]bool{}}
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		g.register(fs)
		if err := fs.Parse(bad); err != nil {
			t.Fatal(err)
		}
		if _, err := g.accuracyOptions(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
