package counter

import (
	"math/rand/v2"
	"testing"
	"time"
)

// estimateAt is the sliding estimate at elapsed time t from this window's
// start, with no hits after now: in the next window cur is the previous.
func estimateAt(prev, cur uint64, t, win time.Duration) uint64 {
	if t < win {
		return slidingEstimate(prev, cur, slidingWeight(t, win))
	}
	return slidingEstimate(cur, 0, slidingWeight(t-win, win))
}

// slidingWait must be the first moment the estimate reaches the target:
// at it the estimate is within the target, a nanosecond before it is not.
func TestSlidingWaitIsTheFirstMoment(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		win := []time.Duration{time.Second, time.Minute, 10 * time.Minute, 24 * time.Hour}[i%4]
		prev, cur := r.Uint64N(200), r.Uint64N(200)
		target := r.Uint64N(300)
		e := time.Duration(r.Int64N(int64(win)))
		wait := slidingWait(prev, cur, target, e, win)
		if got := estimateAt(prev, cur, e+wait, win); got > target {
			t.Fatalf("prev %d cur %d target %d at %v of %v: after %v the estimate is %d", prev, cur, target, e, win, wait, got)
		}
		if wait > 0 {
			if got := estimateAt(prev, cur, e+wait-1, win); got <= target {
				t.Fatalf("prev %d cur %d target %d at %v of %v: the estimate is %d already before %v", prev, cur, target, e, win, got, wait)
			}
		}
	}
}

func TestSlidingEstimateAtTheBoundary(t *testing.T) {
	// At a window's start the previous window counts whole; its weight never
	// reaches 0 before the window ends.
	if w := slidingWeight(0, time.Minute); w != slidingParts {
		t.Fatalf("weight at the start = %d", w)
	}
	if w := slidingWeight(time.Minute-1, time.Minute); w != 1 {
		t.Fatalf("weight at the end = %d", w)
	}
	if got := slidingEstimate(10, 3, slidingWeight(15*time.Second, time.Minute)); got != 3+8 {
		t.Fatalf("estimate a quarter in = %d, want 3 + ceil(10 × 3/4)", got)
	}
}

// Redis Cluster's slot of a key: CRC16/XMODEM ("123456789" is 0x31C3) of
// the key or of its hash tag.
func TestHashSlot(t *testing.T) {
	for key, want := range map[string]uint16{
		"123456789":          0x31C3 % 16384,
		"{123456789}_a":      0x31C3 % 16384,
		"x{123456789}{other": 0x31C3 % 16384,
		"{}123456789":        hashSlot("{}123456789"), // an empty tag hashes the whole key
	} {
		if got := hashSlot(key); got != want {
			t.Errorf("hashSlot(%q) = %d, want %d", key, got, want)
		}
	}
	if hashSlot("{}123456789") == hashSlot("123456789") {
		t.Error("an empty hash tag was taken as the tag")
	}
}
