package counter

import (
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/floodgate/floodgate/internal/testserver"
)

func TestMemcached(t *testing.T) {
	servers := []string{testserver.Memcached(t).Addr, testserver.Memcached(t).Addr}
	open := func(t *testing.T) (Store, Store) {
		a, b := NewMemcached(servers, testPrefix(t)), NewMemcached(servers, testPrefix(t))
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	}
	testStore(t, backend{
		open: open,
		// memcached expires in whole seconds on a clock that ticks once a
		// second, so a 1s counter lives between 1 and 2 seconds.
		expiry: time.Second,
		vanish: 2 * time.Second,
	})

	t.Run("keys memcached refuses are hashed, not confused", func(t *testing.T) {
		s, _ := open(t)
		long := strings.Repeat("k", 300)
		incs := []Increment{{"a b", 1, time.Minute}, {"a\nb", 2, time.Minute}, {long, 3, time.Minute},
			{long + "x", 4, time.Minute}, {"#x", 5, time.Minute}, {"a_b", 6, time.Minute}}
		add(t, s, incs, 1, 2, 3, 4, 5, 6)
		add(t, s, incs, 2, 4, 6, 8, 10, 12)
	})

	t.Run("counters spread over both servers", func(t *testing.T) {
		s, _ := open(t)
		m := s.(*Memcached)
		var incs []Increment
		var keys []string
		for _, k := range strings.Split("abcdefghijklmnopqrstuvwxyz", "") {
			incs = append(incs, Increment{k, 1, time.Minute})
			keys = append(keys, m.key(k))
		}
		add(t, s, incs)
		for _, addr := range servers {
			got, err := memcache.New(addr).GetMulti(keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || len(got) == len(keys) {
				t.Errorf("server %s holds %d of %d counters, want some but not all", addr, len(got), len(keys))
			}
		}
	})

	t.Run("server down fails the add", func(t *testing.T) {
		down := testserver.Memcached(t)
		s := NewMemcached([]string{down.Addr}, "down:")
		defer s.Close()
		add(t, s, []Increment{{"k", 1, time.Minute}}, 1)
		down.Stop()
		if err := s.Add(ctx(t), []Increment{{"k", 1, time.Minute}}, make([]uint64, 1)); err == nil {
			t.Fatal("Add succeeded with memcached down")
		}
		down.Start()
		add(t, s, []Increment{{"k", 1, time.Minute}}, 1)
	})

	t.Run("no servers", func(t *testing.T) {
		for _, servers := range [][]string{nil, {"not an address"}} {
			s := NewMemcached(servers, "x:")
			if err := s.Add(ctx(t), []Increment{{"k", 1, time.Minute}}, make([]uint64, 1)); err == nil ||
				!strings.Contains(err.Error(), "memcached servers") {
				t.Errorf("servers %q: Add error = %v", servers, err)
			}
		}
	})
}

func TestMemcachedKey(t *testing.T) {
	m := NewMemcached([]string{"127.0.0.1:1"}, "fg:")
	hashed := func(k string) bool { return strings.HasPrefix(m.key(k), "fg:#") && len(m.key(k)) == len("fg:#")+64 }
	tests := []struct {
		key    string
		hashed bool
	}{
		{"domain_key_value_1700000000", false},
		{strings.Repeat("k", memcachedMaxKey-len("fg:")), false},
		{strings.Repeat("k", memcachedMaxKey-len("fg:")+1), true},
		{"has space", true},
		{"tab\there", true},
		{"del\x7f", true},
		{"#looks-hashed", true},
		{"", false},
	}
	for _, tt := range tests {
		if got := hashed(tt.key); got != tt.hashed {
			t.Errorf("key(%q) = %q, hashed %v, want %v", tt.key, m.key(tt.key), got, tt.hashed)
		}
		if k := m.key(tt.key); len(k) > memcachedMaxKey || !memcachedLegal(k) {
			t.Errorf("key(%q) = %q is not a legal memcached key", tt.key, k)
		}
	}
	for _, p := range []string{"bad prefix:", strings.Repeat("p", memcachedMaxPrefix+1)} {
		k := NewMemcached(nil, p).key(strings.Repeat("x", 400))
		if len(k) > memcachedMaxKey || !memcachedLegal(k) {
			t.Errorf("prefix %q: key %q is not a legal memcached key", p, k)
		}
	}
}

func TestMemcachedExpiration(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		d    time.Duration
		want int32
	}{
		{time.Millisecond, 1},
		{time.Second, 1},
		{1500 * time.Millisecond, 2},
		{30 * 24 * time.Hour, 30 * 24 * 3600},
		{31 * 24 * time.Hour, 1_800_000_000 + 31*24*3600}, // absolute past 30 days
	}
	for _, tt := range tests {
		if got := memcachedExpiration(tt.d, now); got != tt.want {
			t.Errorf("memcachedExpiration(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestMemcachedChecks(t *testing.T) {
	servers := []string{testserver.Memcached(t).Addr, testserver.Memcached(t).Addr}
	testChecks(t, func(t *testing.T) Checker {
		m := NewMemcached(servers, testPrefix(t))
		t.Cleanup(func() { m.Close() })
		return m
	})
}
