package counter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/redis/go-redis/v9"
)

// redisWithFailingKeys starts a Redis whose counters, under the prefix it
// returns, include "max", at Redis's maximum, and "list", a value of the
// wrong type.
func redisWithFailingKeys(t *testing.T) (redis.UniversalClient, string) {
	t.Helper()
	client := redisClient(t, "redis://"+testserver.Redis(t).Addr)
	p := testPrefix(t)
	if err := client.Set(ctx(t), p+"max", math.MaxInt64, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.LPush(ctx(t), p+"list", "x").Err(); err != nil {
		t.Fatal(err)
	}
	return client, p
}

// One key at Redis's maximum and one holding a value of the wrong type
// fail only themselves: the keys they share a pipeline with are counted.
// Before, the pipeline failed as a whole and every key in it with it.
func TestRedisKeyErrorsStayWithTheirKey(t *testing.T) {
	client, p := redisWithFailingKeys(t)
	s := NewRedis(client, p)
	incs := []Increment{{"a", 1, time.Minute}, {"max", 1, time.Minute}, {"list", 1, time.Minute}, {"b", 2, time.Minute}}
	counts := make([]uint64, len(incs))
	err := s.Add(ctx(t), incs, counts)
	var ke *KeyErrors
	if !errors.As(err, &ke) {
		t.Fatalf("Add = %v, want KeyErrors", err)
	}
	for i, want := range []struct {
		count uint64
		fails bool
	}{{1, false}, {math.MaxInt64, false}, {0, true}, {2, false}} {
		if kerr := KeyErr(err, i); (kerr != nil) != want.fails || (!want.fails && counts[i] != want.count) {
			t.Errorf("%s: count %d, err %v; want count %d, failing %v", incs[i].Key, counts[i], kerr, want.count, want.fails)
		}
	}
	// A counter at its maximum stays there and is no error on its own.
	add(t, s, []Increment{{"max", math.MaxUint64, time.Minute}}, math.MaxInt64)
}

// The measurement: in exact mode, concurrent callers coalesced
// into pipelines with one caller whose counter is at its maximum. Before,
// ~13% of the other callers' Adds failed with that key's error.
func TestBatchingCounterAtMaximumFailsNoOtherCaller(t *testing.T) {
	client, p := redisWithFailingKeys(t)
	b := NewBatching(NewRedis(client, p), BatchingOptions{Pipelines: 1})
	defer b.Close()
	const callers, each = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for c := range callers {
		wg.Go(func() {
			counts := make([]uint64, 1)
			for i := range each {
				key := fmt.Sprintf("own-%d", c)
				switch c {
				case 0:
					key = "max"
				case 1:
					key = "list"
				}
				err := b.Add(ctx(t), []Increment{{Key: key, Hits: 1, Expiry: time.Minute}}, counts)
				switch {
				case c == 0 && (err != nil || counts[0] != math.MaxInt64):
					errs <- fmt.Errorf("counter at its maximum: count %d, err %v", counts[0], err)
				case c == 1 && err == nil:
					errs <- fmt.Errorf("wrong-type key counted %d", counts[0])
				case c > 1 && err != nil:
					errs <- fmt.Errorf("caller %d add %d failed: %w", c, i, err)
				case c > 1 && counts[0] != uint64(i+1):
					errs <- fmt.Errorf("caller %d add %d: count %d, want %d", c, i, counts[0], i+1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 3 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d adds wrong", n, callers*each)
	}
}

// blockedStore holds its first Add until release is closed, so that later
// Adds queue up behind it and share one batch; each key named in fail
// fails on its own.
type blockedStore struct {
	entered chan struct{} // closed once the first Add is held
	release chan struct{}
	once    sync.Once
	fail    map[string]bool
}

func (s *blockedStore) Add(_ context.Context, incs []Increment, counts []uint64) error {
	s.once.Do(func() { close(s.entered); <-s.release })
	errs := make([]error, len(incs))
	for i, inc := range incs {
		if s.fail[inc.Key] {
			errs[i] = fmt.Errorf("counter %q: refused", inc.Key)
			continue
		}
		counts[i] = inc.Hits
	}
	return keyErrors(errs)
}

func (s *blockedStore) Close() error { return nil }

// A batch's key error reaches only the job that holds that key, with its
// index in that job's own increments.
func TestBatchingSplitsKeyErrorsByCaller(t *testing.T) {
	inner := &blockedStore{entered: make(chan struct{}), release: make(chan struct{}), fail: map[string]bool{"bad": true}}
	b := NewBatching(inner, BatchingOptions{Pipelines: 1})
	defer b.Close()
	first := make(chan error, 1)
	go func() {
		first <- b.Add(context.Background(), []Increment{{"first", 1, time.Minute}}, make([]uint64, 1))
	}()
	testkit.Receive(t, "the first batch held", inner.entered)
	type result struct {
		counts []uint64
		err    error
	}
	good, mixed := make(chan result, 1), make(chan result, 1)
	go func() {
		c := make([]uint64, 1)
		good <- result{c, b.Add(context.Background(), []Increment{{"good", 4, time.Minute}}, c)}
	}()
	go func() {
		c := make([]uint64, 2)
		mixed <- result{c, b.Add(context.Background(), []Increment{{"ok", 2, time.Minute}, {"bad", 3, time.Minute}}, c)}
	}()
	testkit.Eventually(t, "two Adds queued", func() bool { return len(b.jobs) == 2 })
	close(inner.release)
	if err := testkit.Receive(t, "first result", first); err != nil {
		t.Fatalf("first: %v", err)
	}
	if r := testkit.Receive(t, "good result", good); r.err != nil || r.counts[0] != 4 {
		t.Fatalf("good caller: %v, %v; want [4], nil", r.counts, r.err)
	}
	r := testkit.Receive(t, "mixed result", mixed)
	if KeyErr(r.err, 0) != nil || r.counts[0] != 2 || KeyErr(r.err, 1) == nil {
		t.Fatalf("mixed caller: %v, %v; want ok counted 2 and bad failed", r.counts, r.err)
	}
}
