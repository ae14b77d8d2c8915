package clustertest

import (
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/cluster"
)

// NewWAN is a cluster.WAN to target with delay each way, closed when t
// ends.
func NewWAN(t testing.TB, target string, delay time.Duration) *cluster.WAN {
	t.Helper()
	w, err := cluster.NewWAN(target, delay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}
