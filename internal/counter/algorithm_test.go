package counter

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// algoStore is a store under test for the algorithms: a fresh key space
// per test.
type algoStore interface {
	Checker
	AlgoGranter
}

// testEpoch is a minute boundary: windows of a second or a minute start here.
var testEpoch = time.Unix(1_800_000_000, 0)

func TestMemoryAlgorithms(t *testing.T) {
	testAlgorithms(t, func(t *testing.T) algoStore {
		m := NewMemory()
		t.Cleanup(func() { m.Close() })
		return m
	})
}

func TestRedisAlgorithms(t *testing.T) {
	url := "redis://" + testserver.Redis(t).Addr
	testAlgorithms(t, func(t *testing.T) algoStore { return NewRedis(redisClient(t, url), testPrefix(t)) })
}

// On a Cluster the keys of one request lie in several slots: the previous
// windows are read first and several limits are charged, then taken back.
func TestRedisClusterAlgorithms(t *testing.T) {
	nodes := testserver.RedisCluster(t, 3)
	url := "redis+cluster://" + nodes[0].Addr + "," + nodes[1].Addr
	t.Run("keys in several slots", func(t *testing.T) {
		testAlgorithms(t, func(t *testing.T) algoStore { return NewRedis(redisClient(t, url), testPrefix(t)) })
	})
	// A prefix that is a hash tag puts every key in one slot: one script.
	t.Run("keys in one slot", func(t *testing.T) {
		testAlgorithms(t, func(t *testing.T) algoStore { return NewRedis(redisClient(t, url), "{"+testPrefix(t)+"}") })
	})
}

// windowLimit is a limit of n per win on key k (window start appended) at now.
func windowLimit(alg Algorithm, k string, n uint64, win time.Duration, now time.Time) Limit {
	start := now.Unix() / int64(win/time.Second) * int64(win/time.Second)
	return Limit{Algorithm: alg, Key: k + "_" + itoa(start), PrevKey: k + "_" + itoa(start-int64(win/time.Second)),
		Hits: 1, Limit: n, Window: win, WindowStart: start}
}

func itoa(n int64) string { return time.Unix(n, 0).UTC().Format("20060102T150405") }

func bucketLimit(k string, rate, burst uint64, per time.Duration) Limit {
	return Limit{Algorithm: TokenBucket, Key: k, Hits: 1, Limit: rate, Window: per, Burst: burst}
}

// check runs one Check and returns its verdicts.
func check(t *testing.T, s Checker, now time.Time, limits ...Limit) (bool, []Verdict) {
	t.Helper()
	out := make([]Verdict, len(limits))
	ok, err := s.Check(ctx(t), now, limits, out)
	if err != nil {
		t.Fatalf("Check at %v: %v", now.Sub(testEpoch), err)
	}
	return ok, out
}

// admitted counts the requests admitted out of n at now.
func admitted(t *testing.T, s Checker, now time.Time, n int, limits ...Limit) int {
	t.Helper()
	got := 0
	for range n {
		if ok, _ := check(t, s, now, limits...); ok {
			got++
		}
	}
	return got
}

// testAlgorithms runs the checks and the lease grants of every algorithm.
func testAlgorithms(t *testing.T, open func(t *testing.T) algoStore) {
	testChecks(t, func(t *testing.T) Checker { return open(t) })
	testAlgoGrants(t, open)
}

// testChecks runs the behaviour every Checker must have.
func testChecks(t *testing.T, open func(t *testing.T) Checker) {
	t.Run("a burst across a window boundary: fixed admits it, sliding refuses", func(t *testing.T) {
		s := open(t)
		before := testEpoch.Add(59 * time.Second)
		after := testEpoch.Add(61 * time.Second)
		for _, tt := range []struct {
			alg       Algorithm
			wantAfter int
		}{{FixedWindow, 10}, {SlidingWindow, 0}} {
			if got := admitted(t, s, before, 15, windowLimit(tt.alg, tt.alg.String(), 10, time.Minute, before)); got != 10 {
				t.Fatalf("%s: admitted %d of 15 before the boundary, want 10", tt.alg, got)
			}
			if got := admitted(t, s, after, 15, windowLimit(tt.alg, tt.alg.String(), 10, time.Minute, after)); got != tt.wantAfter {
				t.Fatalf("%s: admitted %d of 15 just after the boundary, want %d", tt.alg, got, tt.wantAfter)
			}
		}
	})
	t.Run("sliding: retry-after is when the next request is admitted, denials are not counted", func(t *testing.T) {
		s := open(t)
		at := testEpoch.Add(59 * time.Second)
		if got := admitted(t, s, at, 10, windowLimit(SlidingWindow, "s", 10, time.Minute, at)); got != 10 {
			t.Fatalf("admitted %d, want 10", got)
		}
		at = testEpoch.Add(61 * time.Second)
		l := windowLimit(SlidingWindow, "s", 10, time.Minute, at)
		ok, v := check(t, s, at, l)
		// The previous window weighs ceil(59/60 × 65536)/65536: 10 × that
		// rounds up to 10, and falls to 9 once the weight is 58982/65536.
		wantRetry := time.Duration(mulDiv(uint64(time.Minute), slidingParts-58982, slidingParts, true)) - time.Second
		if ok || !v[0].Over || v[0].Count != 10 || v[0].Remaining != 0 || v[0].RetryAfter != wantRetry || v[0].ResetAfter != wantRetry {
			t.Fatalf("check = %v %+v, want denied, count 10, retry and reset after %v", ok, v[0], wantRetry)
		}
		for range 20 { // a client that keeps trying must not push its recovery back
			check(t, s, at.Add(wantRetry/2), l)
		}
		if ok, v := check(t, s, at.Add(wantRetry-time.Millisecond), l); ok {
			t.Fatalf("admitted %v before its retry-after: %+v", wantRetry-time.Millisecond, v[0])
		}
		if ok, v := check(t, s, at.Add(wantRetry), l); !ok || v[0].Count != 10 || v[0].Remaining != 0 {
			t.Fatalf("at its retry-after: %v %+v, want admitted with count 10", ok, v[0])
		}
	})
	t.Run("sliding: the count over the window falls as the previous one slides out", func(t *testing.T) {
		s := open(t)
		at := testEpoch.Add(30 * time.Second)
		if got := admitted(t, s, at, 100, windowLimit(SlidingWindow, "f", 100, time.Minute, at)); got != 100 {
			t.Fatalf("admitted %d, want 100", got)
		}
		// A quarter into the next window, 75 of the previous 100 still count.
		at = testEpoch.Add(75 * time.Second)
		if got := admitted(t, s, at, 50, windowLimit(SlidingWindow, "f", 100, time.Minute, at)); got != 25 {
			t.Fatalf("admitted %d a quarter into the next window, want 25", got)
		}
	})
	t.Run("token bucket: burst at once, then exactly the rate", func(t *testing.T) {
		s := open(t)
		// 3 a second: an interval of 333333⅓µs, which rounding would break.
		l := bucketLimit("b", 3, 3, time.Second)
		t0 := testEpoch.Add(123 * time.Millisecond)
		if got := admitted(t, s, t0, 5, l); got != 3 {
			t.Fatalf("admitted %d of 5 at once, want the burst of 3", got)
		}
		_, v := check(t, s, t0, l)
		if v[0].RetryAfter != 333334*time.Microsecond || v[0].Remaining != 0 || v[0].Count != 3 {
			t.Fatalf("denied verdict %+v, want retry after 333.334ms, nothing remaining", v[0])
		}
		// Polling every 10ms for 3s admits exactly 9 more: 3 a second.
		got := 0
		for step := time.Duration(1); step <= 300; step++ {
			if ok, _ := check(t, s, t0.Add(step*10*time.Millisecond), l); ok {
				got++
			}
		}
		if got != 9 {
			t.Fatalf("admitted %d over 3s, want 9", got)
		}
	})
	t.Run("token bucket: a larger burst refills at the rate", func(t *testing.T) {
		s := open(t)
		l := bucketLimit("big", 10, 50, time.Second)
		if got := admitted(t, s, testEpoch, 60, l); got != 50 {
			t.Fatalf("admitted %d at once, want 50", got)
		}
		if got := admitted(t, s, testEpoch.Add(time.Second), 20, l); got != 10 {
			t.Fatalf("admitted %d a second later, want 10", got)
		}
		// A full bucket again after 5s; the time until the next token.
		_, v := check(t, s, testEpoch.Add(6*time.Second), Limit{Algorithm: TokenBucket, Key: "big", Limit: 10, Window: time.Second, Burst: 50})
		if v[0].Remaining != 50 || v[0].ResetAfter != 0 {
			t.Fatalf("read after 5s: %+v, want 50 remaining", v[0])
		}
		_, v = check(t, s, testEpoch.Add(6*time.Second), l)
		if v[0].Remaining != 49 || v[0].ResetAfter != 100*time.Millisecond {
			t.Fatalf("after one hit: %+v, want 49 remaining, next token in 100ms", v[0])
		}
	})
	t.Run("several limits are charged all or none", func(t *testing.T) {
		s := open(t)
		now := testEpoch.Add(10 * time.Second)
		limits := func(now time.Time) []Limit {
			return []Limit{
				windowLimit(FixedWindow, "m_fixed", 5, time.Minute, now),
				windowLimit(SlidingWindow, "m_sliding", 4, time.Minute, now),
				bucketLimit("m_bucket", 1, 2, time.Minute),
			}
		}
		for i := range 2 {
			if ok, v := check(t, s, now, limits(now)...); !ok {
				t.Fatalf("request %d denied: %+v", i, v)
			}
		}
		ok, v := check(t, s, now, limits(now)...)
		if ok || v[0].Over || v[1].Over || !v[2].Over || v[0].Count != 2 || v[1].Count != 2 || v[2].Count != 2 {
			t.Fatalf("third request: %v %+v, want denied by the bucket alone, nothing charged", ok, v)
		}
		// The bucket refills one a minute: one request a minute passes all
		// three (the sliding window counts ceil(2 × 50/60) = 2 of the first
		// minute at 1m10s, so 2 + 1 ≤ 4).
		later := now
		for i := range 2 {
			later = later.Add(time.Minute)
			if ok, v := check(t, s, later, limits(later)...); !ok {
				t.Fatalf("request %d a minute later denied: %+v", i, v)
			}
		}
		if ok, v := check(t, s, later, limits(later)...); ok || !v[2].Over {
			t.Fatalf("a second request in the same minute: %v %+v, want denied by the bucket", ok, v)
		}
		later = later.Add(time.Minute)
		reads := limits(later)
		for i := range reads {
			reads[i].Hits = 0
		}
		_, v = check(t, s, later, reads...)
		if v[0].Count != 0 || v[1].Count != 1 || v[2].Count != 1 {
			t.Fatalf("counts at 3m10s = %+v, want fixed 0, sliding ceil(1 × 50/60) = 1, bucket 1 in use", v)
		}
	})
	t.Run("concurrent requests never pass a limit", func(t *testing.T) {
		s := open(t)
		at := testEpoch.Add(5 * time.Second)
		limits := []Limit{
			windowLimit(SlidingWindow, "c_sliding", 50, time.Minute, at),
			bucketLimit("c_bucket", 1, 70, time.Hour),
			windowLimit(FixedWindow, "c_fixed", 1000, time.Minute, at),
		}
		var got atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				out := make([]Verdict, len(limits))
				for range 20 {
					ok, err := s.Check(ctx(t), at, limits, out)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						got.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if got.Load() != 50 {
			t.Fatalf("admitted %d of 160, want the sliding limit of 50", got.Load())
		}
		reads := slices.Clone(limits)
		for i := range reads {
			reads[i].Hits = 0
		}
		if _, v := check(t, s, at, reads...); v[0].Count != 50 || v[1].Count != 50 || v[2].Count != 50 {
			t.Fatalf("counts after = %+v, want 50 each: denied requests charge nothing", v)
		}
	})
	t.Run("bad limits are refused", func(t *testing.T) {
		s := open(t)
		for _, l := range []Limit{
			{Algorithm: FixedWindow, Key: "x", Limit: 1, Window: time.Minute, WindowStart: testEpoch.Unix() - 60},
			{Algorithm: SlidingWindow, Key: "x", Limit: 1, Window: time.Minute, WindowStart: testEpoch.Unix()},
			{Algorithm: TokenBucket, Key: "x", Limit: 1, Window: 0},
			{Algorithm: TokenBucket, Key: "x", Limit: 1, Burst: 1 << 31, Window: 365 * 24 * time.Hour},
			{Algorithm: 9, Key: "x", Limit: 1, Window: time.Minute},
		} {
			if _, err := s.Check(ctx(t), testEpoch, []Limit{l}, make([]Verdict, 1)); err == nil {
				t.Errorf("Check(%+v) succeeded", l)
			}
		}
	})
	t.Run("a zero limit denies everything", func(t *testing.T) {
		s := open(t)
		for _, l := range []Limit{windowLimit(SlidingWindow, "z", 0, time.Second, testEpoch), bucketLimit("zb", 0, 0, time.Second)} {
			if ok, v := check(t, s, testEpoch, l); ok || !v[0].Over {
				t.Errorf("%s with limit 0: %v %+v", l.Algorithm, ok, v[0])
			}
		}
	})
}

// A breaker over batching over Redis, as exact mode and the engine stack
// them, passes the algorithms through.
func TestBreakerAlgorithms(t *testing.T) {
	url := "redis://" + testserver.Redis(t).Addr
	testAlgorithms(t, func(t *testing.T) algoStore {
		r := NewRedis(redisClient(t, url), testPrefix(t))
		b := NewBreaker(NewBatching(r, BatchingOptions{}), r, BreakerOptions{Logger: testkit.Quiet})
		t.Cleanup(func() { b.Close() })
		return b
	})
}

// A store that only adds makes the breaker's checks and grants fail with
// ErrUnsupported, and an open breaker fails them at once.
func TestBreakerAlgorithmsOverAStoreThatOnlyAdds(t *testing.T) {
	f := &failingStore{}
	b := NewBreaker(f, f, BreakerOptions{Logger: testkit.Quiet})
	defer b.Close()
	l := windowLimit(SlidingWindow, "u", 1, time.Minute, testEpoch)
	if _, err := b.Check(ctx(t), testEpoch, []Limit{l}, make([]Verdict, 1)); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Check = %v, want ErrUnsupported", err)
	}
	if err := b.GrantBucket(ctx(t), testEpoch, []BucketGrant{{Key: "u", Limit: 1, Window: time.Second}}, make([]Granted, 1)); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("GrantBucket = %v, want ErrUnsupported", err)
	}
}

// Limits of a second and longer ones split over two stores: each part is
// checked in its store, a denial of the per-second part charges nothing in
// the other.
func TestBySecondChecks(t *testing.T) {
	sec, other := NewMemory(), NewMemory()
	b := &BySecond{PerSecond: sec, Other: other}
	defer b.Close()
	at := testEpoch.Add(10 * time.Second)
	limits := []Limit{windowLimit(SlidingWindow, "s", 2, time.Second, at), windowLimit(FixedWindow, "m", 10, time.Minute, at)}
	if got := admitted(t, b, at, 5, limits...); got != 2 {
		t.Fatalf("admitted %d, want 2 (the per-second limit)", got)
	}
	_, v := check(t, other, at, Limit{Algorithm: FixedWindow, Key: limits[1].Key, Limit: 10, Window: time.Minute, WindowStart: limits[1].WindowStart})
	if v[0].Count != 2 {
		t.Fatalf("minute count = %d, want 2: denied requests charge nothing", v[0].Count)
	}
	if _, v := check(t, sec, at, Limit{Algorithm: SlidingWindow, Key: limits[0].Key, PrevKey: limits[0].PrevKey, Limit: 2, Window: time.Second, WindowStart: limits[0].WindowStart}); v[0].Count != 2 {
		t.Fatalf("second count = %d, want 2 in the per-second store", v[0].Count)
	}
}
