package policy

import (
	"math"
	"testing"
)

func TestClampHits(t *testing.T) {
	for _, tc := range []struct {
		in      uint64
		want    uint64
		clamped bool
	}{
		{0, 0, false},
		{1, 1, false},
		{MaxHits, MaxHits, false},
		{MaxHits + 1, MaxHits, true},
		{1 << 63, MaxHits, true},
		{math.MaxUint64 - 2, MaxHits, true},
	} {
		got, clamped := ClampHits(tc.in)
		if got != tc.want || clamped != tc.clamped {
			t.Errorf("ClampHits(%d) = %d, %v; want %d, %v", tc.in, got, clamped, tc.want, tc.clamped)
		}
	}
}

func TestAddHitsSaturates(t *testing.T) {
	for _, tc := range []struct{ a, b, want uint64 }{
		{0, 0, 0},
		{3, 4, 7},
		{math.MaxUint64 - 1, 1, math.MaxUint64},
		{3, math.MaxUint64 - 2, math.MaxUint64}, // wrapped to 0 before
		{math.MaxUint64, math.MaxUint64, math.MaxUint64},
	} {
		if got := AddHits(tc.a, tc.b); got != tc.want {
			t.Errorf("AddHits(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
