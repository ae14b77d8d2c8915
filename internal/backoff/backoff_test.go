package backoff

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		got := b.Delay(n)
		if got > want || got < want*4/5 {
			t.Errorf("Delay(%d) = %v, want %v minus at most 20%%", n, got, want)
		}
	}
}
