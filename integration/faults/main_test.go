// Package faults breaks a real deployment under load: Redis, engines,
// replicas and the control plane run as child processes of the floodgate
// binary, which TestMain builds once, and each case kills, restarts or cuts
// one of them off while eight callers keep asking with Envoy's deadline.
// FAULTS_REPORT=1 prints the cases' table once they have run.
package faults

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testkit"
)

// floodgateBin is the binary every role runs, built by TestMain.
var floodgateBin string

func TestMain(m *testing.M) {
	slog.SetDefault(testkit.Quiet)
	redis.SetLogger(quietRedis{}) // the test's own Sentinel client logs each failover
	dir, err := os.MkdirTemp("", "floodgate-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	floodgateBin = filepath.Join(dir, "floodgate")
	build := exec.Command("go", "build", "-o", floodgateBin, "github.com/floodgate/floodgate/cmd/floodgate")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "faults: building the floodgate binary:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if os.Getenv("FAULTS_REPORT") != "" {
		printReport(os.Stdout)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
