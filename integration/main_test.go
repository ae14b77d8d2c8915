package integration

import (
	"log/slog"
	"os"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
)

// TestMain keeps the components' logs out of test and benchmark output;
// tests assert on state and stats, not on log lines.
func TestMain(m *testing.M) {
	slog.SetDefault(testkit.Quiet)
	os.Exit(m.Run())
}
