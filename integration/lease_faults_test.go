package integration

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

const (
	wideLimit = 3000 // the wide rule
	hourLimit = 300  // the hour rule
	// wideOverdraft is N·d, what the replicas may admit of the wide rule
	// past its limit: d = ⌊0.005·3000/3⌋ = 5 on each of three replicas.
	wideOverdraft = 3 * 5
)

// threeReplicas pins N in the overdraft at the three replicas the tests
// run, so that d is the one the bounds are computed with whichever replica
// heard of the others first.
var threeReplicas = replica.LeaseOptions{MaxReplicas: 3}

func unique(prefix string) string { return prefix + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) }

// grantedOf reads the window's granted count of key=value (an hour rule)
// in Redis; 0 when there is none.
func grantedOf(t *testing.T, c *clustertest.Cluster, key, value string) int {
	t.Helper()
	k := asyncCounterPrefix + asyncCacheKey(key, value, policy.Hour, time.Now())
	n, err := c.RedisClient(t).Get(t.Context(), k).Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("granted count %s: %v", k, err)
	}
	return n
}

// grantedReaches polls the granted count of key=value until it is want or
// within runs out, and returns the last count read.
func grantedReaches(t *testing.T, c *clustertest.Cluster, key, value string, want int, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		g := grantedOf(t, c, key, value)
		if g == want || time.Now().After(deadline) {
			return g
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settled reads the granted count of key=value once it has held still for
// 100ms: the grants asked for are in.
func settled(t *testing.T, c *clustertest.Cluster, key, value string) int {
	t.Helper()
	g := grantedOf(t, c, key, value)
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		next := grantedOf(t, c, key, value)
		if next == g {
			break
		}
		g = next
	}
	return g
}

// askRemaining sends replica i one request for key=value and returns its
// code and the limit remaining it reports.
func askRemaining(t *testing.T, c *clustertest.Cluster, i int, key, value string) (rlsv3.RateLimitResponse_Code, uint32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	resp, err := c.Client(i).ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: "integ",
		Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}}}})
	if err != nil {
		t.Fatalf("replica %d: ShouldRateLimit: %v", i, err)
	}
	return resp.GetOverallCode(), resp.GetStatuses()[0].GetLimitRemaining()
}

// An engine dies a third of the way through the limit while 24 callers
// keep at it: the other engine carries on, no call fails, and the replicas
// admit the limit within the overdraft. What the dead engine granted and
// never delivered is lost to the window, never admitted twice: a replica
// has one ask in flight per key, so at most one grant each, capped by the
// engines at ⌈remaining / (2·3 holders)⌉. Runs lose none, or under the
// race detector about 5% of the limit.
func TestLeasesHoldTheLimitWhenAnEngineDies(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("kill")
	var admitted atomic.Int64
	done := make(chan int, 1)
	go func() {
		done <- load{key: "wide", value: value, workers: 24, calls: 3 * wideLimit, admitted: &admitted}.run(t, c)
	}()
	testkit.Eventually(t, "a third of the limit admitted", func() bool { return admitted.Load() >= wideLimit/3 })
	c.StopEngine(0)
	atKill := int(admitted.Load())
	n := <-done
	g := grantedOf(t, c, "wide", value)
	lost := 3 * ((wideLimit-atKill)/6 + 1)
	t.Logf("engine 0 killed at %d admitted; %d admitted of %d, %d granted in Redis (at most %d lost)", atKill, n, wideLimit, g, lost)
	// A replica that finds no engine stream up for a moment (the race
	// detector slows its move to the other engine) admits its fallback
	// share meanwhile: the bound is then the fallback's, the overdraft plus
	// (N−1)·⌈remaining/(2N)⌉ (README, "How it counts").
	most := wideLimit + wideOverdraft + 2*((wideLimit-atKill+5)/6)
	if n > most || n < wideLimit-lost {
		t.Errorf("admitted %d, want within [%d, %d]", n, wideLimit-lost, most)
	}
	if g > most || g-n > lost {
		t.Errorf("%d granted in Redis for %d admitted: over %d, or over %d lost", g, n, most, lost)
	}
}

// Redis restarts empty halfway through the limit. While it is away each
// replica spends what it holds, and a request that finds nothing held is
// denied after its wait: the engines' grants hang until Redis answers or
// their counter timeout (2s) passes, and only then does the fallback share
// answer (the long outage's test). Once Redis is back, every ask carries
// the count its replica last saw, which raises the lost count back.
//
// The bound: the count comes back ask by ask, each raising it to what its
// replica saw at its last grant, so the first grants after the restart are
// made over a count that trails the true one by the grants made after the
// asker's last. Under a steady load each replica asks about once a
// horizon, so that is a grant to each of the two others, each capped by
// the engines at ⌈remaining / (2·3 holders)⌉ ≤ ⌈(L − admitted before)/6⌉.
// The fallback admits at most what remained at the last grant, split among
// the holders, and is charged. So admitted ≤ L + N·d + 2·⌈(L − before)/6⌉;
// runs admit L to L + 12%, and the test logs the figures.
func TestLeasesRestoreTheCountWhenRedisRestarts(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("redis")
	before := load{key: "wide", value: value, workers: 24, calls: wideLimit / 2}.run(t, c)
	g := grantedOf(t, c, "wide", value)
	c.StopRedis()
	// Load while Redis is away: the tokens held.
	during := load{key: "wide", value: value, workers: 12, calls: wideLimit / 3}.run(t, c)
	c.StartRedis()
	after := load{key: "wide", value: value, workers: 24, calls: 2 * wideLimit}.run(t, c)
	n := before + during + after
	restored := grantedOf(t, c, "wide", value)
	t.Logf("admitted %d before the restart (%d granted), %d while Redis was away, %d after: %d of %d; %d granted in the new Redis",
		before, g, during, after, n, wideLimit, restored)
	bound := wideLimit + wideOverdraft + 2*((wideLimit-before)/6+1)
	if n > bound || n < wideLimit {
		t.Errorf("admitted %d across a Redis restart, want within [%d, %d]", n, wideLimit, bound)
	}
}

// A replica holding tokens ahead stops: its Close gives them back before
// its streams close. Its successor, a new incarnation, is granted from the
// same count, and the window's count never falls behind what was admitted.
func TestLeasesComeBackFromAStoppedReplica(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("stop")
	first := load{key: "wide", value: value, replicas: []int{0}, workers: 8, calls: 600}.run(t, c)
	// Its last asks answered first: a Close with an ask in flight strands
	// that ask's grant and its own returns (reported, not tested here).
	held := settled(t, c, "wide", value) - first
	t.Logf("replica 0 admitted %d and holds %d ahead", first, held)
	if held <= 0 {
		t.Fatalf("replica 0 holds %d tokens ahead after a burst: nothing to give back", held)
	}
	c.StopReplica(0)
	if g := grantedOf(t, c, "wide", value); g != first {
		t.Fatalf("%d granted after replica 0 stopped, want its %d admitted: %d tokens not given back", g, first, g-first)
	}
	next, err := c.AddReplica()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the successor on both engines", func() bool { return c.Limiter(next).Health().EnginesConnected == 2 })
	if code := ask(t, c, next, "wide", value); code != asyncOK {
		t.Fatalf("the successor answers %v under the limit", code)
	}
	second := 1 + load{key: "wide", value: value, replicas: []int{1, 2, next}, workers: 12, calls: 900}.run(t, c)
	n, g := first+second, grantedOf(t, c, "wide", value)
	t.Logf("admitted %d + %d; %d granted", first, second, g)
	// A request that finds no tokens may be denied after its wait: the
	// bound is the count, never behind what was admitted.
	if second < 901*9/10 || g < n {
		t.Fatalf("admitted %d of 901 after the restart, %d in all with %d granted", second, n, g)
	}
}

// Once every replica is idle, each gives its tokens back and the granted
// count is what was admitted, none held anywhere.
func TestLeasesReturnIdleTokensToTheStore(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("idle")
	n := load{key: "wide", value: value, workers: 12, calls: 1500}.run(t, c)
	// Idle leases give their tokens back after two sweeps, a second apart.
	g := grantedReaches(t, c, "wide", value, n, 4*time.Second)
	t.Logf("admitted %d; %d granted once idle", n, g)
	if g != n {
		t.Fatalf("%d granted once every replica is idle, want the %d admitted", g, n)
	}
}

// Every replica reports the limit remaining fleet-wide as it knows it. On
// a key too small to hold tokens ahead (d = 0) every request waits for its
// own grant, so the figure is exact whichever replica answers.
func TestLeasesReportTheSameRemainingOnEveryReplica(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("remaining")
	for i := range hourLimit {
		code, left := askRemaining(t, c, i%3, "hour", value)
		if code != asyncOK || left != uint32(hourLimit-i-1) {
			t.Fatalf("request %d on replica %d: %v with %d remaining, want OK with %d", i+1, i%3, code, left, hourLimit-i-1)
		}
	}
}

// On a key whose leases hold tokens ahead, a replica reports what remained
// at its last grant plus what it holds, so it lags by what the others were
// granted since. Two replicas asked one after the other disagree by the
// grants made between their last grants, at most one to each of the two
// others (a replica asks again only once it runs low), each capped by the
// engines at remaining / (2·3 holders) ≤ L/6: they stay within L/3. Runs
// show about L/6; the test logs the widest gap.
func TestLeasesReportCloseRemainingsWhenHeldAhead(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("ahead")
	// Each replica past its overdraft and granted: a cold key's report is
	// another test's.
	for i := range 3 * 10 {
		if code := ask(t, c, i%3, "wide", value); code != asyncOK {
			t.Fatalf("request %d answered %v", i+1, code)
		}
	}
	time.Sleep(50 * time.Millisecond)
	const within = 2 * wideLimit / 6
	var last, widest uint32
	for i := range 600 {
		code, left := askRemaining(t, c, i%3, "wide", value)
		if code != asyncOK {
			t.Fatalf("request %d on replica %d answered %v", i+1, i%3, code)
		}
		if i > 0 {
			widest = max(widest, max(left, last)-min(left, last))
		}
		if widest > within {
			t.Fatalf("request %d: replica %d reports %d remaining, replica %d just reported %d: over %d apart",
				i+1, i%3, left, (i+2)%3, last, within)
		}
		last = left
	}
	t.Logf("replicas one after the other reported remainings at most %d apart", widest)
}

// A cold key's first requests, admitted on the overdraft before the first
// grant, report what the replica knows: next to nothing taken.
func TestLeasesReportTheRemainingOfAColdKey(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("cold")
	for i := range 3 {
		code, left := askRemaining(t, c, i, "wide", value)
		if code != asyncOK || left < wideLimit*9/10 {
			t.Fatalf("replica %d's first request: %v with %d remaining, want OK with at least %d", i, code, left, wideLimit*9/10)
		}
	}
}

// Replica 0 takes a burst and goes idle, holding tokens ahead; replica 1
// then runs the key dry. The idle tokens come back to the store and on to
// replica 1: together they admit the limit, within the overdraft.
func TestLeasesMoveFromAnIdleReplicaToABusyOne(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("move")
	first := load{key: "wide", value: value, replicas: []int{0}, workers: 8, calls: 600}.run(t, c)
	held := settled(t, c, "wide", value) - first
	if held <= 0 {
		t.Fatalf("replica 0 holds %d tokens ahead after a burst: nothing to move", held)
	}
	second := load{key: "wide", value: value, replicas: []int{1}, workers: 8, calls: wideLimit}.run(t, c)
	t.Logf("replica 0 admitted %d and held %d; replica 1 admitted %d before running dry", first, held, second)
	// Replica 1 keeps asking until it has been denied for a while after
	// replica 0's tokens came back (two idle sweeps, then its own).
	returned := time.Time{}
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		if ask(t, c, 1, "wide", value) == asyncOK {
			second++
			continue
		}
		if returned.IsZero() && grantedOf(t, c, "wide", value) <= first+second {
			returned = time.Now()
		}
		if !returned.IsZero() && time.Since(returned) > 1500*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	n := first + second
	t.Logf("replica 1 admitted %d in all: %d of %d", second, n, wideLimit)
	if n > wideLimit+wideOverdraft || n < wideLimit-wideOverdraft {
		t.Fatalf("admitted %d over both replicas, want within [%d, %d]", n, wideLimit-wideOverdraft, wideLimit+wideOverdraft)
	}
}

// With no engine answering, a replica that had a grant admits its share of
// what remained at its last grant, then denies; once an engine is back,
// what it admitted is charged and grants resume, so the window still
// admits its limit exactly.
func TestLeasesShareWhileNoEngineAnswers(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("share")
	// Ten requests on each replica, one after the other: d = 0 on the hour
	// rule, so each is one grant of one token, and replica 0's last saw
	// 28 counted by all three holders.
	const warm = 30
	for i := range warm {
		if code := ask(t, c, i%3, "hour", value); code != asyncOK {
			t.Fatalf("request %d answered %v", i+1, code)
		}
	}
	const share = (hourLimit - (warm - 2)) / 3
	c.StopEngine(0)
	c.StopEngine(1)
	testkit.Eventually(t, "replica 0 without engines", func() bool { return c.Limiter(0).Health().EnginesConnected == 0 })
	fallback := 0
	for ask(t, c, 0, "hour", value) == asyncOK {
		fallback++
		if fallback > hourLimit {
			t.Fatal("the fallback admits past the limit")
		}
	}
	for range 5 {
		if code := ask(t, c, 0, "hour", value); code != asyncOver {
			t.Fatalf("after its share of %d, replica 0 answers %v", fallback, code)
		}
	}
	t.Logf("replica 0 admitted %d with no engine; its share is %d", fallback, share)
	if fallback == 0 || fallback > share {
		t.Fatalf("replica 0 admitted %d with no engine, want 1 to its share %d", fallback, share)
	}

	if err := c.RestartEngine(0); err != nil {
		t.Fatal(err)
	}
	if g := grantedReaches(t, c, "hour", value, warm+fallback, 3*time.Second); g < warm+fallback {
		t.Fatalf("%d granted once an engine is back, want %d: the fallback's %d not charged", g, warm+fallback, fallback)
	}
	admitted := warm + fallback
	testkit.Eventually(t, "replica 0 granted again", func() bool {
		if ask(t, c, 0, "hour", value) != asyncOK {
			return false
		}
		admitted++
		return true
	})
	// The rest of the window, round the replicas until all three deny.
	for i, denied := 0, 0; denied < 3; i++ {
		if ask(t, c, i%3, "hour", value) == asyncOK {
			admitted, denied = admitted+1, 0
			continue
		}
		denied++
	}
	g := grantedOf(t, c, "hour", value)
	t.Logf("admitted %d of %d; %d granted", admitted, hourLimit, g)
	if admitted != hourLimit || g != hourLimit {
		t.Fatalf("admitted %d with %d granted, want the limit %d", admitted, g, hourLimit)
	}
}

// Redis stays away longer than the engines' counter timeout, twice over:
// the engines answer every ask that they cannot grant, those carrying the
// fallback's admissions included. Those admissions are still charged once
// Redis is back. (About 9s once it runs.)
func TestLeasesChargeTheFallbackAcrossALongRedisOutage(t *testing.T) {
	c := startAsync(t, cluster.Options{Engines: 2, Replicas: 3, Leases: threeReplicas})
	value := unique("outage")
	const warm = 30
	for i := range warm {
		if code := ask(t, c, i%3, "hour", value); code != asyncOK {
			t.Fatalf("request %d answered %v", i+1, code)
		}
	}
	c.StopRedis()
	// Each ask waits out the engines' 2s counter timeout before its
	// answer lets the fallback admit.
	fallback := 0
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ask(t, c, 0, "hour", value) == asyncOK {
			fallback++
		}
	}
	c.StartRedis()
	// Replica 0 last saw 28 counted.
	want := warm - 2 + fallback
	g := grantedReaches(t, c, "hour", value, want, 3*time.Second)
	t.Logf("replica 0 admitted %d with Redis away; %d granted once it is back", fallback, g)
	if fallback == 0 || g < want {
		t.Fatalf("%d granted once Redis is back, want at least %d with the fallback's %d", g, want, fallback)
	}
}
