package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

func TestWatchFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "d.yaml")
	// Write then rename, so a poll never sees a half-written file.
	write := func(unit string) {
		body := "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: " + unit + ", requests_per_unit: 1}\n"
		tmp := filepath.Join(dir, ".d.yaml.tmp")
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
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
	if n := applied.Load(); n != 1 {
		t.Fatalf("start-up applied %d times, want once", n)
	}
	write("fortnight")
	testkit.Eventually(t, "a bad edit after start-up to be rejected", func() bool { return rejected.Load() > 0 })
	// From start-up to the rejection the watcher polled the unchanged files
	// as often as its ticker fired; none of those polls applied anything
	// (policy's watch tests show it poll by poll), and neither did the bad
	// edit.
	if n := applied.Load(); n != 1 {
		t.Fatalf("applied %d times, want only the start-up load", n)
	}
}
