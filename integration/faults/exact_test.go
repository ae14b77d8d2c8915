package faults

import (
	"fmt"
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// Exact mode counts every request in Redis. With Redis killed under load
// it answers every call within the deadline by its --on-store-down, and
// counts in Redis again once it is back.
func TestExactModeWithRedisKilled(t *testing.T) {
	for _, mode := range []string{"allow", "deny", "local"} {
		t.Run("exact-"+mode, func(t *testing.T) { exactCase(t, mode) })
	}
}

// storeTimeout is the replica's --store-timeout: a call that meets Redis
// dying waits this long before it is answered by --on-store-down, so it
// must be under the callers' deadline (the default, 100ms, is not).
const storeTimeout = 25 * time.Millisecond

func exactCase(t *testing.T, onStoreDown string) {
	waitForWindow()
	name := "exact-redis-kill-" + onStoreDown
	rs := testserver.Redis(t)
	confDir := t.TempDir()
	d := &deployment{t: t, confDir: confDir}
	d.writePolicy(policyYAML)
	// Two replicas share the store: with local each admits half a limit.
	srv := newRole(t, "exact replica", "", "127.0.0.1", "serve", "--mode", "exact",
		"--redis", "redis://"+rs.Addr+"/0", "--on-store-down", onStoreDown, "--replicas", "2", "--store-timeout", storeTimeout.String(), "--config", confDir)
	srv.start(t)
	testkit.Eventually(t, "the exact replica healthy", srv.healthy)
	value := unique(name)
	l := startLoad(t, value, srv.grpc)
	time.Sleep(beforeFor)
	l.enter(transition)
	rs.Stop()
	testkit.Eventually(t, "health to report the store down", func() bool { return !srv.healthy() })
	l.enter(during)
	time.Sleep(faultFor)
	// Redis may answer, and the breaker close, before Start returns.
	l.enter(after)
	healed := time.Now()
	rs.Start()
	var recovery time.Duration
	for {
		if srv.healthy() {
			if code, err := askOnce(srv.grpc, "small", value); err == nil && code == rlsv3.RateLimitResponse_OVER_LIMIT {
				recovery = time.Since(healed)
				break
			}
		}
		if time.Since(healed) > recoveryGuard {
			t.Fatalf("not recovered %v after Redis came back: healthy %v", recoveryGuard, srv.healthy())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(afterFor)
	l.stop()

	// The calls in flight as Redis dies, and those until the breaker has
	// seen its failures in a row, wait out --store-timeout: at most two
	// per caller. Every later call is answered at once.
	firstFailures := l.late[before].Load() + l.late[transition].Load()
	okWide, overWide := l.ok(during, keyWide), l.over(during, keyWide)
	okSmall, overSmall := l.ok(during, keySmall), l.over(during, keySmall)
	t.Logf("%s: sent %d, failed %d, timed out %d; with Redis away wide %d OK %d over, small %d OK %d over; recovered in %v",
		name, l.sent.Load(), l.failed.Load(), l.timedOut.Load(), okWide, overWide, okSmall, overSmall, recovery)
	record(row{fault: name, sent: l.sent.Load(), failed: l.failed.Load(), timedOut: l.timedOut.Load(),
		admitted: l.admitted(keyWide), limit: wideLimit, recovery: recovery,
		note: fmt.Sprintf("%d timed out as Redis died, before the breaker opened; breaker open: wide %d OK/%d over, used-up small %d OK/%d over", firstFailures, okWide, overWide, okSmall, overSmall)})

	if l.failed.Load() > 0 || firstFailures > 2*callers || l.late[during].Load()+l.late[after].Load() > 0 {
		t.Errorf("%d calls failed and %d ran past the %v deadline (%d as Redis died, %d with the breaker open, %d after); first: %v",
			l.failed.Load(), l.timedOut.Load(), callDeadline, firstFailures, l.late[during].Load(), l.late[after].Load(), l.firstErr)
	}
	switch onStoreDown {
	case "allow":
		if overWide+overSmall > 0 {
			t.Errorf("--on-store-down allow answered %d calls OVER_LIMIT with Redis away", overWide+overSmall)
		}
	case "deny":
		if okWide+okSmall > 0 {
			t.Errorf("--on-store-down deny answered %d calls OK with Redis away", okWide+okSmall)
		}
	case "local":
		// Counted from nothing in the replica, each limit halved.
		if okWide > wideLimit/2 || okSmall > smallLimit/2 {
			t.Errorf("--on-store-down local admitted %d wide and %d small with Redis away, over halves of %d and %d",
				okWide, okSmall, wideLimit, smallLimit)
		}
	}
}
