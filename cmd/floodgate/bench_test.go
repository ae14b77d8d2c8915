package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBenchSideBySide(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "bench.csv")
	err := runBench(context.Background(), []string{"--start", "async", "--workers", "2,4", "--count", "300",
		"--rounds", "1", "--warmup", "0", "--csv", csvPath})
	if err != nil {
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
	// header, then baseline and floodgate at each concurrency
	if len(rows) != 5 || rows[1][0] != "baseline" || rows[2][0] != "floodgate-async" || rows[4][1] != "4" {
		t.Fatalf("csv rows = %v", rows)
	}
	for _, r := range rows[1:] {
		if r[7] != "0" {
			t.Errorf("%s with %s workers had %s errors", r[0], r[1], r[7])
		}
	}
}

// bench --accuracy maps its flags onto load.DeploymentAccuracy, whose own
// tests check the accuracy; this checks that the flags reach it.
func TestBenchAccuracy(t *testing.T) {
	var out bytes.Buffer
	f := &benchFlags{replicas: 2, limit: 50, rate: 1000, duration: 400 * time.Millisecond, interval: 5 * time.Millisecond}
	res, err := runAccuracy(context.Background(), &out, f)
	if err != nil {
		t.Fatal(err)
	}
	if res.Limit != 50 || len(res.PerReplica) != 2 || !strings.Contains(out.String(), "2 replicas") {
		t.Fatalf("limit %d, %d replicas; report:\n%s", res.Limit, len(res.PerReplica), out.String())
	}
}
