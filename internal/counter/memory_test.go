package counter

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/floodgate/floodgate/internal/testkit"
)

func TestMemory(t *testing.T) {
	testStore(t, backend{
		// One Memory is one backend: both stores are it.
		open: func(t *testing.T) (Store, Store) {
			m := NewMemory()
			t.Cleanup(func() { m.Close() })
			return m, m
		},
		expiry: 50 * time.Millisecond,
		vanish: 50 * time.Millisecond,
	})
}

func TestMemoryJanitorFreesExpired(t *testing.T) {
	m := newMemory(MemoryOptions{}, 10*time.Millisecond)
	defer m.Close()
	add(t, m, []Increment{{"short", 1, 20 * time.Millisecond}, {"long", 1, time.Minute}}, 1, 1)
	add(t, m, []Increment{{"never-created", 0, time.Minute}}, 0)
	if n := m.len(); n != 2 {
		t.Fatalf("holds %d counters, want 2", n)
	}
	testkit.Eventually(t, "the janitor to free the expired counter and keep the other", func() bool { return m.len() == 1 })
}

func TestMemoryCloseStopsJanitor(t *testing.T) {
	m := newMemory(MemoryOptions{}, time.Millisecond)
	closed := make(chan struct{})
	go func() {
		m.Close()
		m.Close() // twice is harmless
		close(closed)
	}()
	testkit.Receive(t, "Close to return", closed)
	select {
	case <-m.done:
	default:
		t.Fatal("janitor still running after Close")
	}
	if err := m.Add(ctx(t), []Increment{{"k", 1, time.Minute}}, make([]uint64, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v, want ErrClosed", err)
	}
}

// Callers build keys in buffers they reuse (the RLS does): the store must
// keep copies, or a reused buffer would rename its counters.
func TestMemoryKeepsItsOwnKeys(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	buf := []byte("api_k_v_0000")
	counts := make([]uint64, 1)
	for i := range 5 {
		copy(buf[len(buf)-4:], fmt.Sprintf("%04d", i))
		view := unsafe.String(unsafe.SliceData(buf), len(buf))
		if err := m.Add(context.Background(), []Increment{{Key: view, Hits: 3, Expiry: time.Minute}}, counts); err != nil {
			t.Fatal(err)
		}
	}
	copy(buf, "XXXXXXXXXXXX")
	for i := range 5 {
		key := fmt.Sprintf("api_k_v_%04d", i)
		if err := m.Add(context.Background(), []Increment{{Key: key, Hits: 0, Expiry: time.Minute}}, counts); err != nil || counts[0] != 3 {
			t.Fatalf("%s after its buffer was reused: count %d, want 3 (%v)", key, counts[0], err)
		}
	}
}

// Distinct large keys must not grow the store past its byte budget: it
// drops counters and counts what it dropped.
func TestMemoryByteBudget(t *testing.T) {
	const budget = 1 << 20
	m := NewMemoryWith(MemoryOptions{MaxBytes: budget})
	defer m.Close()
	value := string(make([]byte, 4<<10))
	for i := range 2000 { // 2000 × 4 KiB = 8× the budget
		add(t, m, []Increment{{fmt.Sprintf("k%d_%s", i, value), 1, time.Minute}}, 1)
	}
	if b := m.Bytes(); b > budget {
		t.Errorf("holds %d bytes, budget %d", b, budget)
	}
	if m.Evictions() == 0 {
		t.Error("no eviction counted")
	}
	// Counting stays right for the keys it holds.
	add(t, m, []Increment{{"small", 2, time.Minute}}, 2)
	add(t, m, []Increment{{"small", 3, time.Minute}}, 5)
}
