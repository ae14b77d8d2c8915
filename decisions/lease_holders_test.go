package decisions

import (
	"testing"
	"time"
)

// A replica quiet for holderTTL leaves the counts at the next prune, and a
// key leaves with its window.
func TestHolderTablePrune(t *testing.T) {
	h := newHolderTable(16)
	t0 := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) int64 { return t0.Add(d).UnixNano() }
	end := t0.Add(time.Minute).Unix()
	h.touchReplica("a", at(0))
	h.touchKey("k", "a", at(0), end)
	h.noteTotal("k", 40)
	h.touchReplica("b", at(holderTTL))
	if n, total := h.touchKey("k", "b", at(holderTTL), end); n != 2 || total != 40 {
		t.Fatalf("key k: %d holders, total %d; want 2 and 40", n, total)
	}

	h.prune(at(holderTTL + time.Second))
	if n := h.touchReplica("b", at(holderTTL+time.Second)); n != 1 {
		t.Fatalf("%d replicas after a quiet for %v, want 1", n, holderTTL+time.Second)
	}
	if n, _ := h.touchKey("k", "b", at(holderTTL+time.Second), end); n != 1 {
		t.Fatalf("key k: %d holders, want the one still asking", n)
	}

	h.prune(time.Unix(end, 0).UnixNano())
	if n, total := h.touchKey("k", "b", time.Unix(end, 0).UnixNano(), end+60); n != 1 || total != 0 {
		t.Fatalf("key k after its window: %d holders, total %d; want a new entry", n, total)
	}
}
