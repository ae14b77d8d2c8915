package decisions

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

func redisClient(t testing.TB, addr string) redis.UniversalClient {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newTestBus(t testing.TB, addrs ...string) *RedisBus {
	t.Helper()
	var clients []redis.UniversalClient
	for _, a := range addrs {
		clients = append(clients, redisClient(t, a))
	}
	b, err := NewRedisBus(RedisBusOptions{
		Endpoints:       clients,
		Names:           addrs,
		Backoff:         backoff.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		PingInterval:    200 * time.Millisecond,
		ProbeInterval:   200 * time.Millisecond,
		RefreshInterval: 100 * time.Millisecond,
		Timeout:         time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// subscribe runs Subscribe until the test ends and checks that it returns.
func subscribe(t *testing.T, b Subscriber) *collector {
	t.Helper()
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Subscribe(ctx, c.apply); close(done) }()
	t.Cleanup(func() {
		cancel()
		testkit.Receive(t, "Subscribe to return after cancel", done)
	})
	return c
}

func inAMinute() int64 { return time.Now().Unix() + 60 }

func TestRedisBusPublishSubscribeCatchUp(t *testing.T) {
	srv := testserver.Redis(t)
	pub := newTestBus(t, srv.Addr)
	ctx := context.Background()
	end := inAMinute()
	if err := pub.Publish(ctx, []Decision{
		{Key: "before", State: Throttled, WindowEnd: end, Seq: 1},
		{Key: "expired", State: Throttled, WindowEnd: time.Now().Unix() - 1, Seq: 2},
		{Key: "released", State: Throttled, WindowEnd: end, Seq: 3},
		{Key: "released", State: Released, WindowEnd: end, Seq: 4},
	}); err != nil {
		t.Fatal(err)
	}

	sub := newTestBus(t, srv.Addr)
	c := subscribe(t, sub)
	testkit.Eventually(t, "subscription", sub.Connected)
	if got := c.keys(); len(got) != 1 || got["before"] != Throttled {
		t.Fatalf("caught up on %v, want only before", got)
	}
	if err := pub.Publish(ctx, []Decision{{Key: "after", State: Throttled, WindowEnd: end, Seq: 5}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "published decision", func() bool { return c.keys()["after"] == Throttled })

	// The expired decision was pruned from Redis by the later publish.
	n, err := redisClient(t, srv.Addr).HLen(ctx, "floodgate:{decisions}:active").Result()
	if err != nil || n != 2 {
		t.Fatalf("active decisions in Redis = %d (%v), want 2", n, err)
	}
}

// A subscriber that loses its endpoint moves to the next, catches up on what
// was published meanwhile, and returns to the first once it is back.
func TestRedisBusFailover(t *testing.T) {
	a, b := testserver.Redis(t), testserver.Redis(t)
	pub := newTestBus(t, a.Addr, b.Addr)
	sub := newTestBus(t, a.Addr, b.Addr)
	c := subscribe(t, sub)
	testkit.Eventually(t, "subscription on a", func() bool { return sub.Endpoint() == a.Addr })
	ctx := context.Background()
	end := inAMinute()

	a.Stop()
	// Published while the subscriber may still be on its way to b: the
	// publish to a fails, b has it, and the subscriber catches up there.
	err := pub.Publish(ctx, []Decision{{Key: "during", State: Throttled, WindowEnd: end, Seq: 1}})
	if err == nil {
		t.Error("publish with an endpoint down reported no error")
	}
	testkit.Eventually(t, "failover to b", func() bool { return sub.Endpoint() == b.Addr })
	testkit.Eventually(t, "catch-up on b", func() bool { return c.keys()["during"] == Throttled })

	a.Start()
	testkit.Eventually(t, "return to a", func() bool { return sub.Endpoint() == a.Addr })
	// a restarted empty; the publisher's refresh restores what it holds.
	testkit.Eventually(t, "refresh of a", func() bool {
		ok, _ := redisClient(t, a.Addr).HExists(ctx, "floodgate:{decisions}:active", "during").Result()
		return ok
	})
	if err := pub.Publish(ctx, []Decision{{Key: "back", State: Throttled, WindowEnd: end, Seq: 2}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "decision after return", func() bool { return c.keys()["back"] == Throttled })
}

// A Redis that restarts loses its decisions; subscribers reconnect and get
// them again from the publisher's refresh.
func TestRedisBusRestart(t *testing.T) {
	srv := testserver.Redis(t)
	pub := newTestBus(t, srv.Addr)
	sub := newTestBus(t, srv.Addr)
	c := subscribe(t, sub)
	testkit.Eventually(t, "subscription", sub.Connected)
	if err := pub.Publish(context.Background(), []Decision{{Key: "k", State: Throttled, WindowEnd: inAMinute(), Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "decision", func() bool { return c.keys()["k"] == Throttled })

	srv.Stop()
	testkit.Eventually(t, "disconnect", func() bool { return !sub.Connected() })
	c.mu.Lock()
	c.ds = nil
	c.mu.Unlock()
	srv.Start()
	testkit.Eventually(t, "reconnect", sub.Connected)
	testkit.Eventually(t, "decision again", func() bool { return c.keys()["k"] == Throttled })
}

func TestRedisBusCloseStopsRefresh(t *testing.T) {
	srv := testserver.Redis(t)
	b, err := NewRedisBus(RedisBusOptions{Endpoints: []redis.UniversalClient{redisClient(t, srv.Addr)}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = b.Close(); close(done) }()
	testkit.Receive(t, "Close to return", done)
	if _, err := NewRedisBus(RedisBusOptions{}); err == nil {
		t.Error("a bus without endpoints was accepted")
	}
}
