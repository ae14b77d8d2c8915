package counter

import (
	"errors"
	"testing"
	"time"
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
	m := newMemory(10 * time.Millisecond)
	defer m.Close()
	add(t, m, []Increment{{"short", 1, 20 * time.Millisecond}, {"long", 1, time.Minute}}, 1, 1)
	add(t, m, []Increment{{"never-created", 0, time.Minute}}, 0)
	if n := m.len(); n != 2 {
		t.Fatalf("holds %d counters, want 2", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for m.len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("janitor left %d counters, want 1", m.len())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMemoryCloseStopsJanitor(t *testing.T) {
	m := newMemory(time.Millisecond)
	closed := make(chan struct{})
	go func() {
		m.Close()
		m.Close() // twice is harmless
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	select {
	case <-m.done:
	default:
		t.Fatal("janitor still running after Close")
	}
	if err := m.Add(ctx(t), []Increment{{"k", 1, time.Minute}}, make([]uint64, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v, want ErrClosed", err)
	}
}
