package decisions

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
)

// hangingCounter holds every Add until release is closed, whatever its
// context says: a Redis that stopped answering, whose client reads with
// timeouts of its own.
type hangingCounter struct {
	*counter.Memory
	release chan struct{}
	added   atomic.Uint64
}

func (s *hangingCounter) Add(ctx context.Context, incs []counter.Increment, counts []uint64) error {
	<-s.release
	for _, inc := range incs {
		s.added.Add(inc.Hits)
	}
	return s.Memory.Add(ctx, incs, counts)
}

// syncBuffer is a log sink safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// A stop whose last flush outlives its deadline says, at the deadline,
// how many hits are at stake; the flush still completes when the store
// answers again.
func TestCloseContextWarnsOfAFlushCutAtTheDeadline(t *testing.T) {
	const t0 = 1_700_000_000
	store := &hangingCounter{Memory: counter.NewMemory(), release: make(chan struct{})}
	t.Cleanup(func() { _ = store.Memory.Close() })
	var logs syncBuffer
	e, err := NewEngine(EngineOptions{Counter: store, Publisher: &publishLog{}, FlushInterval: time.Hour,
		Now: (&clock{now: time.Unix(t0, 0)}).Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.SetSnapshot(testSnapshot(t))
	e.Ingest(&enginepb.HitBatch{Hits: []*enginepb.Hit{hit([]string{"user", "alice"}, 5, t0)}})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	closed := make(chan struct{})
	go func() { _ = e.CloseContext(ctx); close(closed) }()
	testkit.Eventually(t, "a warning of the cut flush", func() bool {
		out := logs.String()
		return strings.Contains(out, "still running at the deadline") && strings.Contains(out, "keys=1 hits=5")
	})
	close(store.release)
	testkit.Receive(t, "CloseContext to return once the store answers", closed)
	if got := store.added.Load(); got != 5 {
		t.Fatalf("the last flush added %d hits, want 5", got)
	}
	if !strings.Contains(logs.String(), "pending hits flushed to the counters") {
		t.Errorf("no info of what the last flush carried:\n%s", logs.String())
	}
}
