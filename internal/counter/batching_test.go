package counter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

func TestBatchingRedisConformance(t *testing.T) {
	url := "redis://" + testserver.Redis(t).Addr
	testStore(t, backend{
		open: func(t *testing.T) (Store, Store) {
			p := testPrefix(t)
			a := NewBatching(NewRedis(redisClient(t, url), p), BatchingOptions{})
			b := NewBatching(NewRedis(redisClient(t, url), p), BatchingOptions{})
			t.Cleanup(func() { a.Close(); b.Close() })
			return a, b
		},
		expiry: 100 * time.Millisecond,
		vanish: 500 * time.Millisecond,
	})
}

// Concurrent callers share round trips, and each gets its own counts.
func TestBatchingCoalescesConcurrentAdds(t *testing.T) {
	srv := testserver.Redis(t)
	b := NewBatching(NewRedis(redisClient(t, "redis://"+srv.Addr), testPrefix(t)), BatchingOptions{Pipelines: 1})
	defer b.Close()
	const callers, each = 32, 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts := make([]uint64, 2)
			for i := range each {
				incs := []Increment{{Key: "shared", Hits: 1, Expiry: time.Minute}, {Key: fmt.Sprintf("own-%d", c), Hits: 2, Expiry: time.Minute}}
				if err := b.Add(context.Background(), incs, counts); err != nil {
					errs <- err
					return
				}
				if counts[1] != uint64(2*(i+1)) {
					errs <- fmt.Errorf("caller %d add %d: own count %d, want %d", c, i, counts[1], 2*(i+1))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	counts := make([]uint64, 1)
	if err := b.Add(context.Background(), []Increment{{Key: "shared", Expiry: time.Minute}}, counts); err != nil || counts[0] != callers*each {
		t.Fatalf("shared count %d (%v), want %d", counts[0], err, callers*each)
	}
	batches, adds := b.Stats()
	if adds != callers*each+1 || batches >= adds {
		t.Fatalf("%d adds in %d batches: concurrent adds were not coalesced", adds, batches)
	}
}

func TestBatchingReportsFailuresAndClose(t *testing.T) {
	srv := testserver.Redis(t)
	b := NewBatching(NewRedis(redisClient(t, "redis://"+srv.Addr+"?dial_timeout=100ms&read_timeout=100ms"), testPrefix(t)),
		BatchingOptions{Timeout: 300 * time.Millisecond})
	srv.Stop()
	counts := make([]uint64, 1)
	if err := b.Add(context.Background(), []Increment{{Key: "k", Hits: 1, Expiry: time.Minute}}, counts); err == nil {
		t.Fatal("Add with Redis down succeeded")
	}
	b.Close()
	if err := b.Add(context.Background(), []Increment{{Key: "k", Hits: 1, Expiry: time.Minute}}, counts); !errors.Is(err, ErrBatchingClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
}
