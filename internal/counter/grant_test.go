package counter

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testserver"
)

// grantBackend opens two Granters over one shared backend, as two engines
// would have, isolated from other tests.
type grantBackend struct {
	open func(t *testing.T) (a, b Granter)
	// get reads a granted count as the backend holds it, 0 when absent.
	get func(t *testing.T, key string) uint64
}

func memoryGrantBackend() grantBackend {
	var m *Memory
	return grantBackend{
		open: func(t *testing.T) (Granter, Granter) {
			m = NewMemory()
			t.Cleanup(func() { m.Close() })
			return m, m
		},
		get: func(t *testing.T, key string) uint64 {
			return read(t, m, key)
		},
	}
}

func redisGrantBackend(url string) grantBackend {
	var c redis.UniversalClient
	var prefix string
	return grantBackend{
		open: func(t *testing.T) (Granter, Granter) {
			prefix = testPrefix(t)
			c = redisClient(t, url)
			return NewRedis(c, prefix), NewRedis(redisClient(t, url), prefix)
		},
		get: func(t *testing.T, key string) uint64 {
			t.Helper()
			n, err := c.Get(ctx(t), prefix+key).Uint64()
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatalf("GET %s: %v", key, err)
			}
			return n
		},
	}
}

// window is a window in force, far from either end.
func window() (start int64, length time.Duration) {
	return time.Now().Unix() - 10, time.Hour
}

func grant(t *testing.T, s Granter, g Grant) Granted {
	t.Helper()
	out := make([]Granted, 1)
	if err := s.Grant(ctx(t), []Grant{g}, out); err != nil {
		t.Fatalf("Grant(%+v): %v", g, err)
	}
	return out[0]
}

func TestMemoryGrant(t *testing.T) {
	testGranter(t, memoryGrantBackend())

	t.Run("a granted count expires at its window's end plus the grace", func(t *testing.T) {
		m := NewMemory()
		defer m.Close()
		start, length := window()
		grant(t, m, Grant{Key: "k", Limit: 10, WindowStart: start, Window: length, Want: 1})
		sh := &m.shards[maphash.String(m.seed, "k")%memoryShards]
		sh.mu.Lock()
		left := sh.counters["k"].expires - time.Since(m.start)
		sh.mu.Unlock()
		want := time.Until(time.Unix(start, 0).Add(length + grantGrace))
		if d := left - want; d < -time.Second || d > time.Second {
			t.Fatalf("counter expires in %v, want %v", left, want)
		}
	})
	t.Run("granted counts stay within MaxBytes", func(t *testing.T) {
		m := NewMemoryWith(MemoryOptions{MaxBytes: 64 << 10})
		defer m.Close()
		start, length := window()
		for i := range 5000 {
			grant(t, m, Grant{Key: fmt.Sprintf("key%d", i), Limit: 10, WindowStart: start, Window: length, Want: 1})
		}
		if m.Bytes() > 64<<10 {
			t.Fatalf("Bytes = %d, over MaxBytes", m.Bytes())
		}
		if m.Evictions() == 0 {
			t.Fatal("no evictions")
		}
	})
	t.Run("closed", func(t *testing.T) {
		m := NewMemory()
		m.Close()
		start, length := window()
		err := m.Grant(ctx(t), []Grant{{Key: "k", Limit: 1, WindowStart: start, Window: length, Want: 1}}, make([]Granted, 1))
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Grant on a closed store: %v, want ErrClosed", err)
		}
	})
}

func TestRedisGrant(t *testing.T) {
	srv := testserver.Redis(t)
	url := "redis://" + srv.Addr
	testGranter(t, redisGrantBackend(url))

	t.Run("a key that holds no granted count fails alone", func(t *testing.T) {
		c, p := redisClient(t, url), testPrefix(t)
		s := NewRedis(c, p)
		if err := c.LPush(ctx(t), p+"list", "x").Err(); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"junk": "abc", "fraction": "1.5", "negative": "-3"} {
			if err := c.Set(ctx(t), p+k, v, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
		start, length := window()
		keys := []string{"a", "list", "junk", "fraction", "negative", "b"}
		gs := make([]Grant, len(keys))
		for i, k := range keys {
			gs[i] = Grant{Key: k, Limit: 10, WindowStart: start, Window: length, Want: 3}
		}
		out := make([]Granted, len(gs))
		err := s.Grant(ctx(t), gs, out)
		var ke *KeyErrors
		if !errors.As(err, &ke) {
			t.Fatalf("Grant error = %v, want KeyErrors", err)
		}
		for i, k := range keys {
			kerr := KeyErr(err, i)
			switch k {
			case "a", "b":
				if kerr != nil || out[i] != (Granted{Tokens: 3, Total: 3}) {
					t.Errorf("%s: %+v, %v; want 3 tokens", k, out[i], kerr)
				}
			default:
				if kerr == nil || !strings.Contains(kerr.Error(), `"`+k+`"`) {
					t.Errorf("%s: error %v, want one naming the key", k, kerr)
				}
			}
		}
		if v, _ := c.Get(ctx(t), p+"junk").Result(); v != "abc" {
			t.Errorf("junk = %q, changed", v)
		}
	})
	t.Run("a granted count expires at its window's end plus the grace", func(t *testing.T) {
		c, p := redisClient(t, url), testPrefix(t)
		start, length := window()
		grant(t, NewRedis(c, p), Grant{Key: "k", Limit: 10, WindowStart: start, Window: length, Want: 1})
		left := c.PTTL(ctx(t), p+"k").Val()
		want := time.Until(time.Unix(start, 0).Add(length + grantGrace))
		if d := left - want; d < -time.Second || d > time.Second {
			t.Fatalf("PTTL = %v, want %v", left, want)
		}
	})
	t.Run("Redis down is one error", func(t *testing.T) {
		down := testserver.Redis(t)
		s := NewRedis(redisClient(t, "redis://"+down.Addr+"?dial_timeout=200ms&read_timeout=200ms"), "down:")
		down.Stop()
		start, length := window()
		gs := []Grant{{Key: "a", Limit: 1, WindowStart: start, Window: length, Want: 1},
			{Key: "b", Limit: 1, WindowStart: start, Window: length, Want: 1}}
		short, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := s.Grant(short, gs, make([]Granted, 2))
		var ke *KeyErrors
		if err == nil || errors.As(err, &ke) {
			t.Fatalf("Grant with Redis down: %v, want one plain error", err)
		}
	})
}

func TestRedisClusterGrant(t *testing.T) {
	nodes := testserver.RedisCluster(t, 3)
	testGranter(t, redisGrantBackend("redis+cluster://"+nodes[0].Addr+","+nodes[1].Addr))
}

// flushScripts empties the script cache of every Redis node behind s, as a
// restart would.
func flushScripts(t *testing.T, s Granter) {
	t.Helper()
	switch c := s.(*Redis).client.(type) {
	case *redis.ClusterClient:
		err := c.ForEachMaster(ctx(t), func(ctx context.Context, n *redis.Client) error {
			return n.ScriptFlush(ctx).Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	default:
		if err := c.ScriptFlush(ctx(t)).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// testGranter runs the behaviour every Granter must have.
func testGranter(t *testing.T, be grantBackend) {
	t.Run("concurrent grants never pass the limit", func(t *testing.T) {
		a, b := be.open(t)
		start, length := window()
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total uint64
		)
		for _, s := range []Granter{a, b} {
			for range 8 {
				wg.Go(func() {
					g := Grant{Key: "k", Limit: 1000, WindowStart: start, Window: length, Want: 7, Divisor: 1}
					out := make([]Granted, 1)
					var got uint64
					for {
						if err := s.Grant(context.Background(), []Grant{g}, out); err != nil {
							t.Error(err)
							return
						}
						if out[0].Tokens > 7 || out[0].Total > 1000 {
							t.Errorf("granted %+v, past Want or Limit", out[0])
						}
						if out[0].Tokens == 0 {
							break
						}
						got += out[0].Tokens
					}
					mu.Lock()
					total += got
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		if total != 1000 {
			t.Errorf("tokens granted = %d, want 1000", total)
		}
		if n := be.get(t, "k"); n != 1000 {
			t.Errorf("granted count = %d, want 1000", n)
		}
	})
	t.Run("the divisor caps each grant", func(t *testing.T) {
		s, _ := be.open(t)
		start, length := window()
		g := Grant{Key: "k", Limit: 100, WindowStart: start, Window: length, Want: 1000, Divisor: 4}
		want := []uint64{25, 19, 14, 11, 8, 6, 5, 3, 3, 2, 1, 1, 1, 1, 0}
		var total uint64
		for i, w := range want {
			got := grant(t, s, g)
			total += w
			if got != (Granted{Tokens: w, Total: total}) {
				t.Fatalf("grant %d = %+v, want %d tokens, total %d", i, got, w, total)
			}
		}
		g.Divisor = 0 // as 1
		g.Return = 10
		if got := grant(t, s, g); got != (Granted{Tokens: 10, Total: 100}) {
			t.Fatalf("grant with divisor 0 = %+v, want the 10 returned", got)
		}
	})
	t.Run("charges pass the limit, returns free tokens", func(t *testing.T) {
		s, _ := be.open(t)
		start, length := window()
		g := Grant{Key: "k", Limit: 10, WindowStart: start, Window: length}
		steps := []struct {
			want, charge, ret uint64
			got               Granted
		}{
			{5, 15, 0, Granted{Tokens: 0, Total: 15}},
			{2, 0, 8, Granted{Tokens: 2, Total: 9}},
			{5, 0, 0, Granted{Tokens: 1, Total: 10}},
			{1, 3, 4, Granted{Tokens: 1, Total: 10}},
			{0, 0, 100, Granted{Tokens: 0, Total: 0}},
			{0, 0, 0, Granted{Tokens: 0, Total: 0}},
		}
		for i, st := range steps {
			g.Want, g.Charge, g.Return = st.want, st.charge, st.ret
			if got := grant(t, s, g); got != st.got {
				t.Fatalf("step %d (want %d, charge %d, return %d) = %+v, want %+v", i, st.want, st.charge, st.ret, got, st.got)
			}
		}
		huge := Grant{Key: "huge", Limit: 1 << 62, WindowStart: start, Window: length, Want: 1 << 63, Charge: 1 << 62}
		if got := grant(t, s, huge); got != (Granted{Total: maxGrantCount}) {
			t.Fatalf("grant past 2^53 = %+v, want the count held at 2^53", got)
		}
	})
	t.Run("a floor restores a lost count and never moves a held one", func(t *testing.T) {
		s, _ := be.open(t)
		start, length := window()
		g := Grant{Key: "k", Limit: 100, WindowStart: start, Window: length, Want: 5, Floor: 60}
		if got := grant(t, s, g); got != (Granted{Tokens: 5, Total: 65}) {
			t.Fatalf("grant over a lost count with floor 60 = %+v, want 5 from 65", got)
		}
		// Tokens came back since the replica's last grant: its floor, above
		// the count now, must not take them again.
		g.Want, g.Return = 0, 30
		if got := grant(t, s, g); got != (Granted{Total: 35}) {
			t.Fatalf("return of 30 = %+v, want the count at 35", got)
		}
		g.Want, g.Return, g.Floor = 5, 0, 90
		if got := grant(t, s, g); got != (Granted{Tokens: 5, Total: 40}) {
			t.Fatalf("grant with a floor over the count = %+v, want the count kept", got)
		}
		if n := be.get(t, "k"); n != 40 {
			t.Fatalf("count = %d, want 40", n)
		}
	})
	t.Run("a grant of nothing creates no count", func(t *testing.T) {
		s, _ := be.open(t)
		start, length := window()
		if got := grant(t, s, Grant{Key: "k", Limit: 10, WindowStart: start, Window: length}); got != (Granted{}) {
			t.Fatalf("grant of nothing = %+v", got)
		}
		if n := be.get(t, "k"); n != 0 {
			t.Fatalf("count = %d", n)
		}
	})
	t.Run("a window not in force changes nothing", func(t *testing.T) {
		s, _ := be.open(t)
		start, length := window()
		now := time.Now().Unix()
		g := Grant{Key: "k", Limit: 10, WindowStart: start, Window: length, Want: 3}
		if got := grant(t, s, g); got != (Granted{Tokens: 3, Total: 3}) {
			t.Fatalf("grant = %+v", got)
		}
		stale := Grant{Key: "k", Limit: 10, WindowStart: now - 3600, Window: time.Minute, Want: 3, Charge: 5, Return: 1, Ahead: time.Hour}
		if got := grant(t, s, stale); got != (Granted{Status: GrantStale, Total: 3}) {
			t.Errorf("stale grant = %+v", got)
		}
		early := Grant{Key: "k", Limit: 10, WindowStart: now + 3600, Window: time.Minute, Want: 3, Charge: 5, Return: 1, Ahead: time.Minute}
		if got := grant(t, s, early); got != (Granted{Status: GrantEarly, Total: 3}) {
			t.Errorf("early grant = %+v", got)
		}
		if n := be.get(t, "k"); n != 3 {
			t.Errorf("count = %d, want 3", n)
		}
		ahead := Grant{Key: "next", Limit: 10, WindowStart: now + 5, Window: time.Minute, Want: 4, Ahead: time.Minute}
		if got := grant(t, s, ahead); got != (Granted{Tokens: 4, Total: 4}) {
			t.Errorf("grant of a window starting within Ahead = %+v", got)
		}
		fresh := Grant{Key: "missing", Limit: 10, WindowStart: now - 3600, Window: time.Minute, Want: 3}
		if got := grant(t, s, fresh); got != (Granted{Status: GrantStale}) {
			t.Errorf("stale grant on a missing key = %+v", got)
		}
		if n := be.get(t, "missing"); n != 0 {
			t.Errorf("stale grant created a count of %d", n)
		}
	})
	t.Run("batch over many keys", func(t *testing.T) {
		a, b := be.open(t)
		start, length := window()
		gs := make([]Grant, 100)
		for i := range gs {
			gs[i] = Grant{Key: fmt.Sprintf("k%d", i), Limit: uint64(i), WindowStart: start, Window: length, Want: 50}
		}
		out := make([]Granted, len(gs))
		for _, s := range []Granter{a, b} {
			if err := s.Grant(ctx(t), gs, out); err != nil {
				t.Fatal(err)
			}
		}
		for i, got := range out {
			if w := uint64(max(0, i-50)); got != (Granted{Tokens: w, Total: uint64(i)}) {
				t.Fatalf("second grant of k%d = %+v, want %d tokens, total %d", i, got, w, i)
			}
		}
		if err := a.Grant(ctx(t), nil, nil); err != nil {
			t.Fatalf("empty Grant: %v", err)
		}
		if err := a.Grant(ctx(t), gs, out[:1]); err == nil {
			t.Error("Grant with too few results succeeded")
		}
		if err := a.Grant(ctx(t), []Grant{{Key: "k", Limit: 1, WindowStart: start, Want: 1}}, out[:1]); err == nil {
			t.Error("Grant with no window succeeded")
		}
	})
	t.Run("an emptied script cache", func(t *testing.T) {
		s, _ := be.open(t)
		if _, ok := s.(*Redis); !ok {
			t.Skip("no script cache")
		}
		start, length := window()
		gs := make([]Grant, 20)
		for i := range gs {
			gs[i] = Grant{Key: fmt.Sprintf("k%d", i), Limit: 10, WindowStart: start, Window: length, Want: 4}
		}
		out := make([]Granted, len(gs))
		for round, want := range []Granted{{Tokens: 4, Total: 4}, {Tokens: 4, Total: 8}, {Tokens: 2, Total: 10}} {
			flushScripts(t, s)
			if loaded := grantScript.Exists(ctx(t), s.(*Redis).client).Val(); len(loaded) != 1 || loaded[0] {
				t.Fatalf("script loaded = %v after SCRIPT FLUSH", loaded)
			}
			if err := s.Grant(ctx(t), gs, out); err != nil {
				t.Fatalf("round %d after SCRIPT FLUSH: %v", round, err)
			}
			for i, got := range out {
				if got != want {
					t.Fatalf("round %d, k%d = %+v, want %+v", round, i, got, want)
				}
			}
		}
	})
}
