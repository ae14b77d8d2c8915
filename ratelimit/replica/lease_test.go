package replica

import (
	"context"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

const leaseTestPolicy = `
domain: api
descriptors:
  - key: sec
    rate_limit: {unit: second, requests_per_unit: 1000}
  - key: big
    rate_limit: {unit: hour, requests_per_unit: 1000}
  - key: small
    rate_limit: {unit: hour, requests_per_unit: 10}
  - key: share
    rate_limit: {unit: hour, requests_per_unit: 300}
  - key: bench
    rate_limit: {unit: hour, requests_per_unit: 2147483648}
`

// leaseEngine serves a real engine on the lease test policy over store on
// a loopback port, from addr ("127.0.0.1:0" for any); stop ends it.
func leaseEngine(t testing.TB, store counter.Store, addr string) (string, func()) {
	t.Helper()
	return policyEngine(t, testkit.Compile(t, leaseTestPolicy), &decisions.MemoryBus{}, store, addr)
}

func newLeaseLimiter(t testing.TB, addr string, o Options) *Limiter {
	t.Helper()
	o.Engines = HitReporterOptions{Groups: [][]string{{addr}}, FlushInterval: 5 * time.Millisecond,
		Backoff: backoff.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}}
	o.Decisions = &decisions.MemoryBus{}
	l, err := NewLimiter(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// leaseItem is one hit of key=value under the test policy's rule for key.
func leaseItem(key, value string, rpu uint32, unit policy.Unit, now time.Time) *ratelimit.Item {
	entries := []*ratelimitv3.RateLimitDescriptor_Entry{{Key: key, Value: value}}
	start := unit.WindowStart(now.Unix())
	return &ratelimit.Item{Domain: "api", Entries: entries, RequestsPerUnit: rpu, Unit: unit, Hits: 1,
		Key: string(policy.AppendCacheKey(nil, "", "api", entries, nil, start)), WindowStart: start}
}

// admit sends one request of items and reports whether it was admitted.
func admit(t testing.TB, l *Limiter, items ...*ratelimit.Item) bool {
	t.Helper()
	if err := l.Limit(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Count > uint64(it.RequestsPerUnit) {
			return false
		}
	}
	return true
}

// granted reads the window's granted count in store.
func granted(t testing.TB, store *counter.Memory, it *ratelimit.Item) uint64 {
	t.Helper()
	counts := make([]uint64, 1)
	if err := store.Add(context.Background(), []counter.Increment{{Key: it.Key, Expiry: time.Hour}}, counts); err != nil {
		t.Fatal(err)
	}
	return counts[0]
}

func TestLeaseSmallLimitIsExact(t *testing.T) {
	store := counter.NewMemory()
	addr, _ := leaseEngine(t, store, "127.0.0.1:0")
	a := newLeaseLimiter(t, addr, Options{})
	b := newLeaseLimiter(t, addr, Options{})
	testkit.Eventually(t, "engine streams up", func() bool { return a.Health().EngineConnected && b.Health().EngineConnected })
	now := time.Now()
	admitted := 0
	for i := range 30 {
		l := a
		if i%3 == 0 {
			l = b
		}
		if admit(t, l, leaseItem("small", "x", 10, policy.Hour, now)) {
			admitted++
		}
	}
	if admitted != 10 {
		t.Fatalf("admitted %d of a limit of 10", admitted)
	}
	if g := granted(t, store, leaseItem("small", "x", 10, policy.Hour, now)); g != 10 {
		t.Fatalf("granted %d, want 10", g)
	}
}

// A request over the limit on one descriptor takes nothing from the others.
func TestLeaseDeniedRequestTakesNothing(t *testing.T) {
	store := counter.NewMemory()
	addr, _ := leaseEngine(t, store, "127.0.0.1:0")
	l := newLeaseLimiter(t, addr, Options{})
	testkit.Eventually(t, "engine stream up", func() bool { return l.Health().EngineConnected })
	now := time.Now()
	for range 10 {
		if !admit(t, l, leaseItem("small", "full", 10, policy.Hour, now)) {
			t.Fatal("denied under the limit")
		}
	}
	for range 5 {
		if admit(t, l, leaseItem("small", "free", 10, policy.Hour, now), leaseItem("small", "full", 10, policy.Hour, now)) {
			t.Fatal("admitted a request over the limit of one descriptor")
		}
	}
	for i := range 10 {
		if !admit(t, l, leaseItem("small", "free", 10, policy.Hour, now)) {
			t.Fatalf("request %d of the other descriptor denied: the denied requests took its tokens", i+1)
		}
	}
}

// A quota item out of tokens denies nothing (the service answers it OK, as
// envoyproxy/ratelimit's src/service/ratelimit.go does), so the request
// spends the other descriptor's tokens as any admitted request does.
func TestLeaseQuotaItemOverChargesTheOthers(t *testing.T) {
	store := counter.NewMemory()
	addr, _ := leaseEngine(t, store, "127.0.0.1:0")
	l := newLeaseLimiter(t, addr, Options{})
	testkit.Eventually(t, "engine stream up", func() bool { return l.Health().EngineConnected })
	now := time.Now()
	quota := func() *ratelimit.Item {
		it := leaseItem("small", "quota", 10, policy.Hour, now)
		it.Quota = true
		return it
	}
	for range 10 {
		admit(t, l, quota())
	}
	for i := range 10 {
		q, other := quota(), leaseItem("small", "other", 10, policy.Hour, now)
		admit(t, l, q, other)
		if q.Count <= 10 {
			t.Fatalf("request %d: quota item count %d, want over its limit of 10", i+1, q.Count)
		}
		if other.Count > 10 {
			t.Fatalf("request %d: other item count %d, over its limit of 10 too soon", i+1, other.Count)
		}
	}
	if admit(t, l, leaseItem("small", "other", 10, policy.Hour, now)) {
		t.Fatal("the other descriptor admitted an 11th hit: the requests with the quota item over did not spend its tokens")
	}
}

// A replica that stops spending gives its tokens back within two sweeps,
// so the store's count falls to what was spent.
func TestLeaseIdleTokensReturn(t *testing.T) {
	store := counter.NewMemory()
	addr, _ := leaseEngine(t, store, "127.0.0.1:0")
	l := newLeaseLimiter(t, addr, Options{SweepInterval: 20 * time.Millisecond, Leases: LeaseOptions{MaxReplicas: 1}})
	now := time.Now()
	it := leaseItem("big", "idle", 1000, policy.Hour, now)
	deadline := time.Now().Add(2 * time.Second)
	for granted(t, store, it) <= 100 && time.Now().Before(deadline) {
		if !admit(t, l, leaseItem("big", "idle", 1000, policy.Hour, now)) {
			t.Fatal("denied under the limit")
		}
	}
	ls := l.leases.lookup(it.Key)
	spent := 1000 - ls.remaining.Load() - uint64(ls.tokens.Load())
	if g := granted(t, store, it); g <= spent {
		t.Fatalf("granted %d for %d spent: no tokens held ahead", g, spent)
	}
	testkit.Eventually(t, "held tokens back in the store", func() bool { return granted(t, store, it) == spent })
}

// While no engine answers, a replica admits its share of the limit; once
// one does, what it admitted meanwhile is charged.
func TestLeaseFallbackShare(t *testing.T) {
	store := counter.NewMemory()
	addr, stop := leaseEngine(t, store, "127.0.0.1:0")
	stop()
	l := newLeaseLimiter(t, addr, Options{Leases: LeaseOptions{MaxReplicas: 3}})
	now := time.Now()
	admitted := 0
	for range 200 {
		if admit(t, l, leaseItem("share", "down", 300, policy.Hour, now)) {
			admitted++
		}
	}
	if admitted != 100 {
		t.Fatalf("admitted %d with no engine, want the share 300/3 = 100", admitted)
	}
	leaseEngine(t, store, addr)
	it := leaseItem("share", "down", 300, policy.Hour, now)
	testkit.Eventually(t, "the share charged", func() bool {
		admit(t, l, leaseItem("share", "down", 300, policy.Hour, now))
		return granted(t, store, it) >= 100
	})
}

// Shortly before a busy key's window ends, the replica already holds tokens
// of the next window.
func TestLeaseNextWindowGrantedAhead(t *testing.T) {
	store := counter.NewMemory()
	addr, _ := leaseEngine(t, store, "127.0.0.1:0")
	l := newLeaseLimiter(t, addr, Options{Leases: LeaseOptions{MaxReplicas: 1}})
	end := time.Now().Add(2 * time.Second)
	for now := time.Now(); now.Before(end); now = time.Now() {
		admit(t, l, leaseItem("sec", "turn", 1000, policy.Second, now))
		next := leaseItem("sec", "turn", 1000, policy.Second, now.Add(time.Second))
		if n := l.leases.lookup(next.Key); n != nil && n.tokens.Load() > 0 && time.Now().Unix() < next.WindowStart {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("no tokens of the next window before it started")
}
