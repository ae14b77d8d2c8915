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

func TestBenchAccuracy(t *testing.T) {
	var out bytes.Buffer
	f := &benchFlags{replicas: 2, limit: 50, rate: 1000, duration: 400 * time.Millisecond, interval: 5 * time.Millisecond}
	res, err := runAccuracy(context.Background(), &out, f)
	if err != nil {
		t.Fatal(err)
	}
	// The async path never refuses a request before the engine has counted
	// the limit, and every replica ends up enforcing it.
	if res.Admitted < res.Limit || res.Admitted >= res.Sent {
		t.Fatalf("admitted %d of %d sent, limit %d", res.Admitted, res.Sent, res.Limit)
	}
	for i, d := range res.PerReplica {
		if d < 0 {
			t.Fatalf("replica %d never enforced the limit:\n%s", i, out.String())
		}
	}
	if !strings.Contains(out.String(), "admitted/limit") || !strings.Contains(out.String(), "last replica enforcing") {
		t.Fatalf("accuracy report:\n%s", out.String())
	}
}
