package counter

import (
	"testing"
	"time"
)

// testAlgoGrants runs the behaviour every AlgoGranter must have.
func testAlgoGrants(t *testing.T, open func(t *testing.T) algoStore) {
	t.Run("sliding grants never pass the limit over the sliding window", func(t *testing.T) {
		s := open(t)
		win := time.Minute
		g := func(now time.Time, want, ret uint64) Granted {
			l := windowLimit(SlidingWindow, "g", 100, win, now)
			out := make([]Granted, 1)
			err := s.GrantSliding(ctx(t), now, []SlidingGrant{{Grant: Grant{Key: l.Key, Limit: 100, WindowStart: l.WindowStart,
				Window: win, Want: want, Return: ret, Divisor: 1}, PrevKey: l.PrevKey}}, out)
			if err != nil {
				t.Fatal(err)
			}
			return out[0]
		}
		if got := g(testEpoch.Add(50*time.Second), 60, 0); got.Tokens != 60 || got.Total != 60 || got.Used != 60 {
			t.Fatalf("first grant = %+v, want 60", got)
		}
		// A quarter into the next window: ceil(60 × 3/4) = 45 of the previous still count.
		at := testEpoch.Add(75 * time.Second)
		if got := g(at, 1000, 0); got.Tokens != 55 || got.Total != 55 || got.Used != 100 {
			t.Fatalf("grant = %+v, want 55 (100 − 45)", got)
		}
		if got := g(at, 1000, 0); got.Tokens != 0 || got.Used != 100 {
			t.Fatalf("grant at the limit = %+v, want none", got)
		}
		if got := g(at, 4, 10); got.Tokens != 4 || got.Total != 49 {
			t.Fatalf("grant after a return of 10 = %+v, want 4, total 49", got)
		}
		// Half way: 30 of the previous count.
		if got := g(testEpoch.Add(90*time.Second), 1000, 0); got.Tokens != 21 || got.Used != 100 {
			t.Fatalf("grant half way = %+v, want 21 (100 − 30 − 49)", got)
		}
		if got := g(testEpoch.Add(130*time.Second), 1, 0); got.Status != GrantStale && got.Tokens != 1 {
			t.Fatalf("grant in a later window = %+v", got)
		}
	})
	t.Run("bucket grants take tokens from the bucket", func(t *testing.T) {
		s := open(t)
		g := func(now time.Time, want, charge, ret uint64) Granted {
			out := make([]Granted, 1)
			err := s.GrantBucket(ctx(t), now, []BucketGrant{{Key: "gb", Limit: 3, Window: time.Second, Burst: 20,
				Want: want, Charge: charge, Return: ret, Divisor: 2}}, out)
			if err != nil {
				t.Fatal(err)
			}
			return out[0]
		}
		if got := g(testEpoch, 100, 0, 0); got.Tokens != 10 || got.Used != 10 {
			t.Fatalf("first grant = %+v, want 10 (half of 20)", got)
		}
		if got := g(testEpoch, 100, 0, 0); got.Tokens != 5 || got.Used != 15 {
			t.Fatalf("second grant = %+v, want 5", got)
		}
		if got := g(testEpoch, 100, 3, 0); got.Tokens != 1 || got.Used != 19 {
			t.Fatalf("grant with a charge of 3 = %+v, want 1 (ceil(2/2)), 19 in use", got)
		}
		// A second later 3 tokens are back; 19 − 3 − 4 returned = 12 in use.
		if got := g(testEpoch.Add(time.Second), 0, 0, 4); got.Tokens != 0 || got.Used != 12 {
			t.Fatalf("a return a second later = %+v, want 12 in use", got)
		}
		// A request checked against the same bucket sees the grants.
		l := bucketLimit("gb", 3, 20, time.Second)
		if got := admitted(t, s, testEpoch.Add(time.Second), 20, l); got != 8 {
			t.Fatalf("admitted %d after the grants, want the 8 left", got)
		}
		if got := g(testEpoch.Add(time.Second), 1, 0, 100); got.Tokens != 1 || got.Used != 1 {
			t.Fatalf("grant after returning more than is in use = %+v, want a full bucket then 1", got)
		}
	})
}
