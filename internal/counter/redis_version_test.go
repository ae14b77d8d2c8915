package counter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

func TestCheckRedisVersion(t *testing.T) {
	for _, tt := range []struct {
		info   string
		tooOld bool
	}{
		{"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n", false},
		{"# Server\r\nredis_version:6.0.0\r\n", false},
		{"# Server\r\nredis_version:6.2.14\r\n", false},
		{"# Server\r\nredis_version:5.0.14\r\n", true},
		{"# Server\r\nredis_version:4.0.9\r\n", true},
		{"# Server\r\nredis_version:10.1.0\r\n", false},
		{"# Server\r\nredis_version:unstable\r\n", false}, // unknown: let it run
		{"# Server\r\n", false},
	} {
		err := checkRedisVersion(tt.info)
		if got := errors.Is(err, ErrRedisTooOld); got != tt.tooOld {
			t.Errorf("%q: %v, want too old %v", tt.info, err, tt.tooOld)
		}
		if err != nil && !strings.Contains(err.Error(), "Redis "+MinRedisVersion+" or newer") {
			t.Errorf("%q: error %q does not name the minimum", tt.info, err)
		}
	}
}

// A store whose server reported a version too old fails every Add, Grant
// and Ping with the error naming the minimum (so a breaker in front stays
// open and health says why), and never counts.
func TestRedisTooOldFailsEveryCall(t *testing.T) {
	srv := testserver.Redis(t)
	r := NewRedis(redisClient(t, "redis://"+srv.Addr), testPrefix(t))
	tooOld := checkRedisVersion("redis_version:5.0.14\r\n")
	r.version.err.Store(&tooOld)
	r.version.done.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := make([]uint64, 1)
	for name, err := range map[string]error{
		"add":   r.Add(ctx, []Increment{{Key: "k", Hits: 1, Expiry: time.Minute}}, counts),
		"grant": r.Grant(ctx, []Grant{{Key: "g", Limit: 10, Want: 1, Window: time.Minute, WindowStart: time.Now().Unix()}}, make([]Granted, 1)),
		"ping":  r.Ping(ctx),
	} {
		if !errors.Is(err, ErrRedisTooOld) {
			t.Errorf("%s: %v, want ErrRedisTooOld", name, err)
		}
	}
	if n := r.client.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("%d keys written on a Redis too old", n)
	}
}

// On a real Redis the check passes and is asked once.
func TestRedisVersionCheckedOnce(t *testing.T) {
	srv := testserver.Redis(t)
	r := NewRedis(redisClient(t, "redis://"+srv.Addr), testPrefix(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if !r.version.done.Load() || r.version.err.Load() != nil {
		t.Fatal("a Redis 6+ did not pass the version check")
	}
}

// The counting script keeps PEXPIRE NX's meaning: a new counter gets its
// expiry, a counter that lost its expiry gets one again, and a counter's
// expiry never moves with later hits. It also runs after Redis forgets its
// scripts.
func TestRedisExpirySetOnlyWithoutOne(t *testing.T) {
	srv := testserver.Redis(t)
	r := NewRedis(redisClient(t, "redis://"+srv.Addr), "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := make([]uint64, 1)
	addOne := func(key string, expiry time.Duration) {
		t.Helper()
		if err := r.Add(ctx, []Increment{{Key: key, Hits: 2, Expiry: expiry}}, counts); err != nil {
			t.Fatal(err)
		}
	}
	pttl := func(key string) time.Duration { return r.client.PTTL(ctx, key).Val() }

	addOne("new", time.Minute)
	if d := pttl("new"); d <= 50*time.Second || d > time.Minute {
		t.Fatalf("new counter PTTL %v, want about a minute", d)
	}
	addOne("new", time.Hour) // a later hit with a longer expiry
	if d := pttl("new"); d > time.Minute || counts[0] != 4 {
		t.Fatalf("after a second hit: PTTL %v count %d, want the first minute kept and 4", d, counts[0])
	}

	r.client.Set(ctx, "lost", 5, 0) // no expiry
	r.client.ScriptFlush(ctx)
	addOne("lost", time.Minute)
	if d := pttl("lost"); d <= 50*time.Second || d > time.Minute || counts[0] != 7 {
		t.Fatalf("counter without expiry: PTTL %v count %d, want about a minute and 7", d, counts[0])
	}
}

// An ACL user denied INFO still counts: the version is then unknown, and
// the check does not stand in the way.
func TestRedisVersionUnknownWithoutInfo(t *testing.T) {
	srv := testserver.Redis(t, "--user", "bob", "on", ">bob-pw", "~*", "+@all", "-info")
	r := NewRedis(redisClient(t, "redis://bob:bob-pw@"+srv.Addr), testPrefix(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := make([]uint64, 1)
	if err := r.Add(ctx, []Increment{{Key: "k", Hits: 3, Expiry: time.Minute}}, counts); err != nil || counts[0] != 3 {
		t.Fatalf("Add as a user without INFO: %d, %v", counts[0], err)
	}
}
