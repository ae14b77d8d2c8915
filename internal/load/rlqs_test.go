package load

import (
	"io"
	"testing"
	"time"
)

// The RLQS load runs simulated Envoys against a deployment's replicas and
// measures a bound that holds.
func TestRLQSLoadStaysWithinTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a deployment for 4 seconds")
	}
	r, err := RLQS(t.Context(), io.Discard, RLQSOptions{Envoys: 2, Replicas: 2, Buckets: 3, Limit: 500,
		Interval: 200 * time.Millisecond, Duration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Windows < 1 || r.Reports == 0 || r.CPU <= 0 {
		t.Fatalf("measured nothing: %+v", r)
	}
	if r.MaxRatio > 1.01 || r.MeanRatio < 0.3 {
		t.Fatalf("admitted/limit max %.3f mean %.3f: want at most 1.01, and the buckets filled", r.MaxRatio, r.MeanRatio)
	}
}
