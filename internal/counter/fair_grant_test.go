package counter

import (
	"fmt"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

func TestMemoryFairGrant(t *testing.T) { testFairGrants(t, memoryGrantBackend()) }

func TestRedisFairGrant(t *testing.T) {
	srv := testserver.Redis(t)
	testFairGrants(t, redisGrantBackend("redis://"+srv.Addr))
}

// fairAsker asks for one key's window on behalf of one datacenter's engine.
type fairAsker struct {
	s        Granter
	key      string
	dc       string
	demand   uint64
	fresh    time.Duration
	start    int64
	length   time.Duration
	sliding  bool
	slidingT time.Time
	dcs      uint64
}

func (a fairAsker) grant(t *testing.T, want, charge, ret uint64) Granted {
	t.Helper()
	g := Grant{Key: a.key, Limit: 1000, WindowStart: a.start, Window: a.length, Want: want, Charge: charge, Return: ret,
		Divisor: 6, Datacenter: a.dc, Asker: "engine-1", Demand: a.demand, DemandKey: "fam|demand", DemandFresh: a.fresh, Datacenters: a.dcs}
	if !a.sliding {
		return grant(t, a.s, g)
	}
	out := make([]Granted, 1)
	err := a.s.(AlgoGranter).GrantSliding(ctx(t), a.slidingT, []SlidingGrant{{Grant: g, PrevKey: a.key + "-prev"}}, out)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

// drain asks for want until a grant gives nothing; it returns the tokens
// granted.
func (a fairAsker) drain(t *testing.T, want uint64) (steps []uint64, sum uint64) {
	t.Helper()
	for range 100 {
		g := a.grant(t, want, 0, 0)
		if g.Tokens == 0 {
			return steps, sum
		}
		steps, sum = append(steps, g.Tokens), sum+g.Tokens
	}
	t.Fatalf("%s: 100 grants and still granting", a.dc)
	return nil, 0
}

// testFairGrants runs the rule of fair_grant.go with exact figures, which
// both stores must give alike: a limit of 1000, Divisor 6.
func testFairGrants(t *testing.T, be grantBackend) {
	start, length := window()
	asker := func(s Granter, key, dc string, demand uint64) fairAsker {
		return fairAsker{s: s, key: key, dc: dc, demand: demand, fresh: time.Minute, start: start, length: length}
	}

	t.Run("equal demand: the datacenter that asks more often takes only its half", func(t *testing.T) {
		s, s2 := be.open(t)
		a, b := asker(s, "eq", "a", 100), asker(s2, "eq", "b", 100)
		// b's first ask is alone in the record: today's cap.
		if g := b.grant(t, 1, 0, 0); g.Tokens != 1 {
			t.Fatalf("b's first grant %+v, want 1", g)
		}
		// a asks again and again: ceil(remaining / 6) each time, as
		// without fairness, until it holds its half.
		steps, gotA := a.drain(t, 1000)
		if fmt.Sprint(steps) != "[167 139 116 78]" || gotA != 500 {
			t.Fatalf("a's grants %v = %d, want [167 139 116 78] = 500", steps, gotA)
		}
		steps, gotB := b.drain(t, 1000)
		if gotB != 499 || be.get(t, "eq") != 1000 {
			t.Fatalf("b's grants %v = %d (count %d), want 499 more, the count at 1000", steps, gotB, be.get(t, "eq"))
		}
	})

	t.Run("shares follow demand", func(t *testing.T) {
		s, s2 := be.open(t)
		a, b := asker(s, "prop", "a", 300), asker(s2, "prop", "b", 100)
		b.grant(t, 1, 0, 0)
		if _, gotA := a.drain(t, 1000); gotA != 750 {
			t.Fatalf("a took %d with 3/4 of the demand, want 750", gotA)
		}
		if _, gotB := b.drain(t, 1000); gotB != 249 {
			t.Fatalf("b took %d more, want 249 (the rest)", gotB)
		}
	})

	t.Run("alone, a grant is capped as without demand", func(t *testing.T) {
		s, _ := be.open(t)
		a := asker(s, "alone", "a", 100)
		if g := a.grant(t, 1000, 0, 0); g.Tokens != 167 {
			t.Fatalf("grant %+v, want ceil(1000/6) = 167", g)
		}
	})

	t.Run("a report older than the freshness counts for nothing", func(t *testing.T) {
		s, s2 := be.open(t)
		a, b := asker(s, "stale", "a", 100), asker(s2, "stale", "b", 100)
		a.fresh, b.fresh = time.Millisecond, time.Millisecond
		b.grant(t, 1, 0, 0)
		time.Sleep(20 * time.Millisecond) // b's report ages past the freshness
		if g := a.grant(t, 1000, 0, 0); g.Tokens != 167 {
			t.Fatalf("grant %+v, want ceil(999/6) = 167: b's demand is stale", g)
		}
	})

	t.Run("charges count in the share, returns come off it", func(t *testing.T) {
		s, s2 := be.open(t)
		a, b := asker(s, "charge", "a", 100), asker(s2, "charge", "b", 100)
		b.grant(t, 1, 0, 0)
		if g := a.grant(t, 100, 600, 0); g.Tokens != 0 || g.Total != 601 {
			t.Fatalf("a charged 600 over its share of 500: %+v, want no tokens, total 601", g)
		}
		if g := a.grant(t, 1000, 0, 200); g.Tokens != 100 || g.Total != 501 {
			t.Fatalf("a returned 200: %+v, want the 100 it is owed, total 501", g)
		}
	})

	t.Run("a new record shares by equal parts, whatever the demand", func(t *testing.T) {
		s, s2 := be.open(t)
		a, b := asker(s, "new", "a", 900), asker(s2, "new", "b", 100)
		a.dcs, b.dcs = 3, 3
		b.grant(t, 1, 0, 0)
		if _, gotA := a.drain(t, 1000); gotA != 334 {
			t.Fatalf("a took %d of a new record's window, want ceil(1000/3) = 334", gotA)
		}
		// b keeps reporting while the record ages past 2 × its freshness.
		a.fresh, b.fresh = 20*time.Millisecond, 20*time.Millisecond
		for until := time.Now().Add(60 * time.Millisecond); time.Now().Before(until); {
			b.grant(t, 0, 0, 0)
			time.Sleep(2 * time.Millisecond)
		}
		if g := a.grant(t, 1000, 0, 0); g.Tokens != 111 {
			t.Fatalf("once the record settled: %+v, want ceil(664 / 6) = 111: a is owed 900 − 334 by its 9/10 of the demand", g)
		}
	})

	t.Run("a record quiet for 2 × its freshness starts anew", func(t *testing.T) {
		s, s2 := be.open(t)
		a, b := asker(s, "quiet", "a", 900), asker(s2, "quiet", "b", 100)
		a.dcs, b.dcs, a.fresh, b.fresh = 2, 2, 20*time.Millisecond, 20*time.Millisecond
		for until := time.Now().Add(20 * time.Millisecond); time.Now().Before(until); {
			a.grant(t, 0, 0, 0)
			b.grant(t, 0, 0, 0)
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(60 * time.Millisecond) // nobody reports
		b.grant(t, 0, 0, 0)
		if _, gotA := a.drain(t, 1000); gotA != 500 {
			t.Fatalf("a took %d after the quiet, want an equal share, 500", gotA)
		}
	})

	t.Run("a sliding window is shared alike", func(t *testing.T) {
		s, s2 := be.open(t)
		if _, ok := s.(AlgoGranter); !ok {
			t.Skip("not an AlgoGranter")
		}
		now := time.Now()
		a, b := asker(s, "sl", "a", 100), asker(s2, "sl", "b", 100)
		for _, x := range []*fairAsker{&a, &b} {
			x.sliding, x.slidingT, x.start, x.length = true, now, now.Unix()-10, time.Hour
		}
		b.grant(t, 1, 0, 0)
		if _, gotA := a.drain(t, 1000); gotA != 500 {
			t.Fatalf("a took %d of a sliding window, want 500", gotA)
		}
	})
}
