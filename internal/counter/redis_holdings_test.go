package counter

import (
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

func hold(t *testing.T, s *Redis, h Holding) HoldingState {
	t.Helper()
	out := make([]HoldingState, 1)
	if err := s.Hold(ctx(t), []Holding{h}, out); err != nil {
		t.Fatalf("Hold(%+v): %v", h, err)
	}
	return out[0]
}

// A grant capped by a datacenter's holding never passes what it holds, and
// the holding settles global grants, falls back once while cut off, and
// hands back only what was not granted.
func TestRedisHoldings(t *testing.T) {
	srv := testserver.Redis(t)
	s := NewRedis(redisClient(t, "redis://"+srv.Addr), testPrefix(t))
	start, win := window()
	end := start + int64(win/time.Second)
	g := Grant{Key: "k", CapKey: "k|dc", Limit: 100, WindowStart: start, Window: win, Want: 50}
	h := Holding{Key: "k|dc", CountKey: "k", WindowEnd: end}

	if r := grant(t, s, g); r.Tokens != 0 {
		t.Fatalf("a datacenter holding nothing granted %d", r.Tokens)
	}
	h.Op, h.Tokens, h.GlobalTotal = HoldSettle, 30, 70
	if st := hold(t, s, h); st.Held != 30 || st.Others != 40 {
		t.Fatalf("settle: %+v", st)
	}
	if r := grant(t, s, g); r.Tokens != 30 || r.Total != 30 || r.Others != 40 {
		t.Fatalf("grant capped at 30: %+v", r)
	}
	if r := grant(t, s, g); r.Tokens != 0 {
		t.Fatalf("past the holding: %+v", r)
	}

	// Cut off: the share is added once, whoever asks.
	h = Holding{Key: "k|dc", CountKey: "k", WindowEnd: end, Op: HoldFallback, Share: 10}
	hold(t, s, h)
	if st := hold(t, s, h); st.Extra != 10 || !st.Fallback {
		t.Fatalf("fallback twice: %+v", st)
	}
	if r := grant(t, s, g); r.Tokens != 10 {
		t.Fatalf("fallback grant: %+v", r)
	}
	if st := hold(t, s, Holding{Key: "k|dc", CountKey: "k", WindowEnd: end, Op: HoldHandBack}); st.Returned != 0 {
		t.Fatalf("handed back during a fallback: %+v", st)
	}
	// Back in contact: the 10 spent are charged, the fallback ends.
	h = Holding{Key: "k|dc", CountKey: "k", WindowEnd: end, Op: HoldSettle, Tokens: 5, Charged: 10, GlobalTotal: 95, ClearExtra: true}
	if st := hold(t, s, h); st.Held != 45 || st.Extra != 0 || st.Fallback || st.Others != 50 || st.Used != 40 {
		t.Fatalf("settle after the fallback: %+v", st)
	}
	if st := hold(t, s, Holding{Key: "k|dc", CountKey: "k", WindowEnd: end, Op: HoldHandBack}); st.Returned != 5 || st.Held != 40 {
		t.Fatalf("hand back: %+v", st)
	}
	if st := hold(t, s, Holding{Key: "k|dc", CountKey: "k", WindowEnd: end, Op: HoldHandBack}); st.Returned != 0 {
		t.Fatalf("handed back twice: %+v", st)
	}

	n, err := s.Members(ctx(t), "dcs", "a", time.Now(), time.Second)
	if err != nil || n != 1 {
		t.Fatalf("members: %d, %v", n, err)
	}
	if n, _ = s.Members(ctx(t), "dcs", "b", time.Now(), time.Second); n != 2 {
		t.Fatalf("members after b: %d", n)
	}
	if n, _ = s.Members(ctx(t), "dcs", "b", time.Now().Add(2*time.Second), time.Second); n != 1 {
		t.Fatalf("a silent member is still counted: %d", n)
	}
}

// A sliding window's grant is capped by the holding as a fixed window's,
// and by its cold credit before the holding exists.
func TestRedisHoldingCapsSlidingGrant(t *testing.T) {
	srv := testserver.Redis(t)
	s := NewRedis(redisClient(t, "redis://"+srv.Addr), testPrefix(t))
	start, win := window()
	g := SlidingGrant{Grant: Grant{Key: "s", CapKey: "s|dc", CapCredit: 4, Limit: 100, WindowStart: start, Window: win, Want: 50},
		PrevKey: "s-prev"}
	out := make([]Granted, 1)
	if err := s.GrantSliding(ctx(t), time.Now(), []SlidingGrant{g}, out); err != nil || out[0].Tokens != 4 || !out[0].Capped {
		t.Fatalf("cold credit: %+v (%v)", out[0], err)
	}
	hold(t, s, Holding{Key: "s|dc", CountKey: "s", WindowEnd: start + int64(win/time.Second), Op: HoldSettle, Tokens: 10, GlobalTotal: 10})
	if err := s.GrantSliding(ctx(t), time.Now(), []SlidingGrant{g}, out); err != nil || out[0].Tokens != 6 || out[0].Cap != 10 {
		t.Fatalf("capped at the holding of 10 with 4 granted: %+v (%v)", out[0], err)
	}
}

// What was granted beyond the holding is claimed once, out of extra first,
// and an unclaim puts it back.
func TestRedisHoldingClaims(t *testing.T) {
	srv := testserver.Redis(t)
	s := NewRedis(redisClient(t, "redis://"+srv.Addr), testPrefix(t))
	start, win := window()
	end := start + int64(win/time.Second)
	h := func(op HoldingOp) Holding { return Holding{Key: "c|dc", CountKey: "c", WindowEnd: end, Op: op} }
	settle := h(HoldSettle)
	settle.Tokens = 10
	hold(t, s, settle)
	fb := h(HoldFallback)
	fb.Share = 5
	hold(t, s, fb)
	// 15 granted and 3 overdrawn: 18 counted against a holding of 10.
	grant(t, s, Grant{Key: "c", CapKey: "c|dc", Limit: 100, WindowStart: start, Window: win, Want: 100})
	grant(t, s, Grant{Key: "c", CapKey: "c|dc", Limit: 100, WindowStart: start, Window: win, Charge: 3})
	st := hold(t, s, h(HoldClaim))
	if st.Returned != 8 || st.FromExtra != 5 || st.Held != 18 || st.Extra != 0 {
		t.Fatalf("claim: %+v", st)
	}
	if again := hold(t, s, h(HoldClaim)); again.Returned != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}
	un := h(HoldUnclaim)
	un.Charged, un.Share = st.Returned, st.FromExtra
	if back := hold(t, s, un); back.Held != 10 || back.Extra != 5 {
		t.Fatalf("unclaim: %+v", back)
	}
}
