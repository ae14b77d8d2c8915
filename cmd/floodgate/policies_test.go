package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/policy"
)

func TestWatchFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "d.yaml")
	write := func(unit string) {
		body := "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: " + unit + ", requests_per_unit: 1}\n"
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	write("fortnight")
	if _, err := watchFiles(ctx, []string{dir}, 10*time.Millisecond, func(*policy.Snapshot) {}, func() {}); err == nil || !strings.Contains(err.Error(), "d.yaml") {
		t.Fatalf("start-up on a bad file: err = %v, want it refused naming the file", err)
	}

	write("minute")
	var applied, rejected atomic.Int32
	snap, err := watchFiles(ctx, []string{dir}, 10*time.Millisecond,
		func(*policy.Snapshot) { applied.Add(1) }, func() { rejected.Add(1) })
	if err != nil || !snap.HasDomain("d") {
		t.Fatalf("start-up: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // several polls of unchanged files
	if n := applied.Load(); n != 1 {
		t.Fatalf("unchanged files applied %d times, want once", n)
	}
	write("fortnight")
	for deadline := time.Now().Add(5 * time.Second); rejected.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a bad edit after start-up was never rejected")
		}
	}
	if n := applied.Load(); n != 1 {
		t.Fatalf("a bad edit was applied (%d applies)", n)
	}
}
