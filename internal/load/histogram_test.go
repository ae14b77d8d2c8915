package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinPrecision(t *testing.T) {
	var h Histogram
	var samples []time.Duration
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		// Spread over five orders of magnitude, as latencies are.
		d := time.Duration(r.ExpFloat64() * float64(200*time.Microsecond))
		samples = append(samples, d)
		h.Record(d)
	}
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := samples[int(q*float64(len(samples)))]
		got := h.Quantile(q)
		if diff := float64(got-exact) / float64(exact); diff > 0.02 || diff < -0.02 {
			t.Errorf("p%v = %v, exact %v (%.1f%% off)", q*100, got, exact, diff*100)
		}
	}
	if h.Count() != 100000 || h.Max() != samples[len(samples)-1] {
		t.Errorf("count %d max %v", h.Count(), h.Max())
	}
}

func TestHistogramMergeAndSmallValues(t *testing.T) {
	var a, b Histogram
	for i := range 10 {
		a.Record(time.Duration(i))
		b.Record(time.Duration(100 + i))
	}
	a.Merge(&b)
	if a.Count() != 20 || a.Quantile(0) != 0 || a.Quantile(0.99) < 100 {
		t.Errorf("merged: count %d p0 %v p99 %v", a.Count(), a.Quantile(0), a.Quantile(0.99))
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
}
