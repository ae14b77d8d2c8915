package counter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/redisconn"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/redis/go-redis/v9"
)

// redisBackend gives each test two clients, as two engines would have, on
// the Redis that url names.
func redisBackend(url string) backend {
	return backend{
		open: func(t *testing.T) (Store, Store) {
			p := testPrefix(t)
			return NewRedis(redisClient(t, url), p), NewRedis(redisClient(t, url), p)
		},
		expiry: 100 * time.Millisecond,
		vanish: 500 * time.Millisecond,
	}
}

func redisClient(t testing.TB, url string) redis.UniversalClient {
	t.Helper()
	c, err := redisconn.New(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedis(t *testing.T) {
	testStore(t, redisBackend("redis://"+testserver.Redis(t).Addr))
}

func TestRedisSentinel(t *testing.T) {
	master := testserver.Redis(t)
	sentinel := testserver.RedisSentinel(t, master, "--requirepass", "sentinel-pw")
	url := "redis+sentinel://" + sentinel.Addr + "/" + testserver.SentinelMaster + "?sentinel_password=sentinel-pw"
	testStore(t, redisBackend(url))

	t.Run("wrong sentinel password", func(t *testing.T) {
		s := NewRedis(redisClient(t, strings.Replace(url, "sentinel-pw", "nope", 1)), "x:")
		if err := s.Add(ctx(t), []Increment{{"k", 1, time.Minute}}, make([]uint64, 1)); err == nil {
			t.Fatal("Add through a sentinel with the wrong password succeeded")
		}
	})
}

func TestRedisCluster(t *testing.T) {
	nodes := testserver.RedisCluster(t, 3)
	// Two seeds are enough: the client learns the third node from them.
	testStore(t, redisBackend("redis+cluster://"+nodes[0].Addr+","+nodes[1].Addr))
}

func TestRedisTLS(t *testing.T) {
	srv, caPEM := testserver.RedisTLS(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	testStore(t, redisBackend("rediss://"+srv.Addr+"?tls_ca="+ca))
}

func TestRedisAuth(t *testing.T) {
	srv := testserver.Redis(t, "--requirepass", "s3cret",
		"--user", "alice", "on", ">alice-pw", "~acl:*", "+@all")
	tests := []struct {
		name, url, prefix string
		wantErr           string // "" when Add must succeed
	}{
		{"requirepass", "redis://:s3cret@" + srv.Addr, "auth:", ""},
		{"wrong password", "redis://:wrong@" + srv.Addr, "auth:", "WRONGPASS"},
		{"no password", "redis://" + srv.Addr, "auth:", "NOAUTH"},
		{"acl user in its keys", "redis://alice:alice-pw@" + srv.Addr, "acl:", ""},
		{"acl user outside its keys", "redis://alice:alice-pw@" + srv.Addr, "other:", "NOPERM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewRedis(redisClient(t, tt.url), tt.prefix)
			err := s.Add(ctx(t), []Increment{{"k", 1, time.Minute}}, make([]uint64, 1))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Add: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Add error = %v, want %s", err, tt.wantErr)
			}
		})
	}
	t.Run("acl user counts", func(t *testing.T) {
		testStore(t, backend{
			open: func(t *testing.T) (Store, Store) {
				url := "redis://alice:alice-pw@" + srv.Addr
				p := "acl:" + testPrefix(t)
				return NewRedis(redisClient(t, url), p), NewRedis(redisClient(t, url), p)
			},
			expiry: 100 * time.Millisecond,
			vanish: 500 * time.Millisecond,
		})
	})
}

// Redis here keeps no data on disk, so a restart loses the counts; what
// must hold is that Add fails while Redis is down and works once it is back,
// with no help from the caller.
func TestRedisRestart(t *testing.T) {
	srv := testserver.Redis(t)
	s := NewRedis(redisClient(t, "redis://"+srv.Addr+"?dial_timeout=200ms&read_timeout=200ms"), "restart:")
	add(t, s, []Increment{{"k", 1, time.Minute}}, 1)

	srv.Stop()
	down, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Add(down, []Increment{{"k", 1, time.Minute}}, make([]uint64, 1)); err == nil {
		t.Fatal("Add succeeded with Redis down")
	}

	srv.Start()
	counts := make([]uint64, 1)
	testkit.Eventually(t, "Add to succeed after Redis came back", func() bool {
		return s.Add(ctx(t), []Increment{{"k", 1, time.Minute}}, counts) == nil
	})
	if counts[0] != 1 {
		t.Fatalf("count after restart = %d, want 1 (no persistence)", counts[0])
	}
}

func TestRedisExpiryRoundsUp(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{{time.Nanosecond, 1}, {time.Millisecond, 1}, {1500 * time.Microsecond, 2}, {time.Minute, 60000}} {
		if got := ceilMillis(tt.d); got != tt.want {
			t.Errorf("ceilMillis(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
