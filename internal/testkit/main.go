package testkit

import (
	"log/slog"
	"os"
	"testing"
)

// RunQuiet runs a package's tests and benchmarks with the default logger
// discarding: tests assert on state and stats, not on log lines, and logs
// would drown benchmark output. Call it from TestMain.
func RunQuiet(m *testing.M) {
	slog.SetDefault(Quiet)
	os.Exit(m.Run())
}
