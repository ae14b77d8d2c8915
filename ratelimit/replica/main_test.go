package replica

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps the components' logs out of test and benchmark output;
// tests assert on state and stats, not on log lines.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}
