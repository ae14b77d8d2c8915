package load

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// One delay per datacenter makes one run; a list of another length is
// refused before anything starts.
func TestMultiDCPerDatacenterDelays(t *testing.T) {
	_, err := MultiDCAccuracy(context.Background(), io.Discard, MultiDCOptions{Datacenters: 3, Limit: 100,
		WANDelays: []time.Duration{0, time.Millisecond}, PerDatacenter: true})
	if err == nil || !strings.Contains(err.Error(), "2 WAN delays for 3 datacenters") {
		t.Fatalf("two delays for three datacenters: %v", err)
	}
}

func TestMultiDCRowShares(t *testing.T) {
	r := MultiDCRow{Limit: 6000, Admitted: []uint64{3000, 2000, 1000},
		WANDelays: []time.Duration{0, 20 * time.Millisecond, 40 * time.Millisecond}}
	if got := r.Shares(); got != "1.50/1.00/0.50" {
		t.Errorf("shares %q, want 1.50/1.00/0.50 of L/3", got)
	}
	if got := r.delays(); got != "0s/20ms/40ms" {
		t.Errorf("delays %q", got)
	}
	r.WANDelays = []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}
	if got := r.delays(); got != "20ms" {
		t.Errorf("equal delays %q, want one", got)
	}
}
