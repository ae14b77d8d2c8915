// Package datacenters runs three datacenters of real floodgate processes,
// each in a network namespace of its own, under one global tier in a hub
// namespace that routes between them: WAN latency on the links (tc netem,
// or where the kernel has none a delaying proxy inside each datacenter's
// namespace), and a partition that takes one datacenter's link down. It
// needs root and network namespaces, and skips saying what is missing.
package datacenters

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
)

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

// floodgateBin builds the floodgate binary once per test process; only a
// test that gets past its skips pays for it.
func floodgateBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "floodgate-datacenters-")
		if binErr != nil {
			return
		}
		build := exec.Command("go", "build", "-o", filepath.Join(binDir, "floodgate"), "github.com/floodgate/floodgate/cmd/floodgate")
		if out, err := build.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("building the floodgate binary: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "floodgate")
}

func TestMain(m *testing.M) {
	slog.SetDefault(testkit.Quiet)
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
