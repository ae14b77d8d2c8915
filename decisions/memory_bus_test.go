package decisions

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// collector gathers delivered decisions for tests.
type collector struct {
	mu sync.Mutex
	ds []Decision
}

func (c *collector) apply(d Decision) {
	c.mu.Lock()
	c.ds = append(c.ds, d)
	c.mu.Unlock()
}

func (c *collector) keys() map[string]State {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]State)
	for _, d := range c.ds {
		m[d.Key] = d.State
	}
	return m
}

func TestMemoryBus(t *testing.T) {
	now := time.Unix(1000, 0)
	bus := &MemoryBus{Now: func() time.Time { return now }}
	ctx := context.Background()
	// Published before anyone listens: in force, expired, and released.
	_ = bus.Publish(ctx, []Decision{
		{Key: "early", State: Throttled, WindowEnd: 1001},
		{Key: "old", State: Throttled, WindowEnd: 1000},
		{Key: "gone", State: Throttled, WindowEnd: 1001},
		{Key: "gone", State: Released, WindowEnd: 1001},
	})

	var c collector
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = bus.Subscribe(sctx, c.apply); close(done) }()
	testkit.Eventually(t, "catch-up", func() bool { return len(c.keys()) == 1 })
	if got := c.keys(); got["early"] != Throttled {
		t.Fatalf("caught up %v, want only early", got)
	}

	_ = bus.Publish(ctx, []Decision{{Key: "late", State: Throttled, WindowEnd: 1002}})
	if c.keys()["late"] != Throttled {
		t.Fatal("publish not delivered before Publish returned")
	}
	cancel()
	testkit.Receive(t, "Subscribe to return after cancel", done)
	_ = bus.Publish(ctx, []Decision{{Key: "after", State: Throttled, WindowEnd: 1002}})
	if _, ok := c.keys()["after"]; ok {
		t.Fatal("delivered after the subscription ended")
	}
}
