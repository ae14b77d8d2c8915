package rlqs_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/internal/cluster/clustertest"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/ratelimit/rlqs"
)

const rlqsPolicy = `
domain: edge
descriptors:
  - key: tenant
    value: gold
    rate_limit: {unit: second, requests_per_unit: 2000}
  - key: tenant
    value: silver
    rate_limit: {unit: hour, requests_per_unit: 1000}
  - key: tenant
    value: banned
    rate_limit: {unit: hour, requests_per_unit: 0}
  - key: tenant
    value: tiny
    rate_limit: {unit: hour, requests_per_unit: 5}
  - key: tenant
    value: bronze
    rate_limit: {unit: second, requests_per_unit: 100}
  - key: tenant
    value: platinum
    rate_limits:
      - {unit: second, requests_per_unit: 1000, name: per_second}
      - {unit: hour, requests_per_unit: 300, name: per_hour}
`

// reportEvery is the clients' reporting interval: Envoy's least is over 100ms.
const reportEvery = 150 * time.Millisecond

// rlqsOn serves the RLQS of replica i of c on a loopback port and returns
// the server and a connection to it.
func rlqsOn(t testing.TB, c *clustertest.Cluster, i int, st gostats.Scope) (*rlqs.Server, *grpc.ClientConn) {
	t.Helper()
	srv := rlqs.New(rlqs.Options{Service: c.Service(i), Leases: c.Limiter(i), Stats: st, Logger: testkit.Quiet})
	g := grpc.NewServer()
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		_ = conn.Close()
		g.Stop()
		<-done
	})
	return srv, conn
}

func startCluster(t testing.TB, replicas int) *clustertest.Cluster {
	t.Helper()
	return clustertest.Start(t, cluster.Options{Engines: 1, Replicas: replicas, Snapshot: testkit.Compile(t, rlqsPolicy)})
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var gold = map[string]string{"tenant": "gold", "name": "per-tenant"}

// Three Envoy streams on two replicas, far over the limit, and a
// ShouldRateLimit caller on the second share one count: every window admits
// at most 1.01 × the limit.
func TestSharedBucketAdmitsWithinTheLimitPerWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a bucket at full speed for 5 seconds")
	}
	const limit, run = 2000, 5 * time.Second
	c := startCluster(t, 2)
	_, conn0 := rlqsOn(t, c, 0, nil)
	_, conn1 := rlqsOn(t, c, 1, nil)
	clients := []*envoyClient{
		newEnvoyClient(t, conn0, "edge", reportEvery),
		newEnvoyClient(t, conn0, "edge", reportEvery),
		newEnvoyClient(t, conn1, "edge", reportEvery),
	}
	start := time.Now()
	var perSecond [16]atomic.Int64 // admitted, by second since start's
	var byRLS atomic.Int64         // of which ShouldRateLimit admitted
	admit := func(now time.Time) { perSecond[now.Unix()-start.Unix()].Add(1) }
	ctx, cancel := context.WithTimeout(t.Context(), run)
	defer cancel()
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := time.NewTicker(time.Millisecond)
			defer tk.Stop()
			for ctx.Err() == nil {
				<-tk.C
				for range 20 { // 20 000 requests a second per Envoy
					if cl.request(gold) {
						admit(time.Now())
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		rls := c.Client(1)
		req := &rlsv3.RateLimitRequest{Domain: "edge", Descriptors: []*commonrl.RateLimitDescriptor{{
			Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: "tenant", Value: "gold"}}}}}
		// 500 calls a second: a quarter of the limit goes through the RLS
		// if it may, the rest to the Envoys.
		tk := time.NewTicker(2 * time.Millisecond)
		defer tk.Stop()
		for ctx.Err() == nil {
			<-tk.C
			r, err := rls.ShouldRateLimit(ctx, req)
			if err == nil && r.GetOverallCode() == rlsv3.RateLimitResponse_OK {
				admit(time.Now())
				byRLS.Add(1)
			}
		}
	}()
	wg.Wait()
	// Whole windows only, past the first, whose start had no assignment.
	var total int64
	windows := 0
	for s := int64(1); time.Unix(start.Unix()+s+1, 0).Before(start.Add(run)); s++ {
		n := perSecond[s].Load()
		t.Logf("window %d: admitted %d of %d (%.3f)", s, n, limit, float64(n)/limit)
		if n > limit*101/100 {
			t.Errorf("window %d admitted %d, over 1.01 × %d", s, n, limit)
		}
		total += n
		windows++
	}
	t.Logf("ShouldRateLimit admitted %d of the %d", byRLS.Load(), total)
	if windows < 2 || total < int64(windows)*limit/2 {
		t.Fatalf("%d windows admitted %d in all: under half the limit, the buckets are not being filled", windows, total)
	}
	// New leases refill: a client gets new token buckets. Not every client
	// need: shares go first come, first served, and on a loaded machine one
	// Envoy may find its replica's tokens spent by the others.
	refilled := 0
	for i, cl := range clients {
		b := cl.bucket(gold)
		if b != nil && b.assignedTokenBucket >= 2 {
			refilled++
		}
		if b != nil {
			t.Logf("client %d: %d token buckets, %d allowed, %d denied", i, b.assignedTokenBucket, b.allowed, b.denied)
		}
	}
	if refilled == 0 {
		t.Fatal("no client got a second token bucket: new leases do not refill")
	}
}

func TestBucketsGetTheirRulesBlanket(t *testing.T) {
	c := startCluster(t, 1)
	_, conn := rlqsOn(t, c, 0, nil)
	cl := newEnvoyClient(t, conn, "edge", reportEvery)
	for _, tc := range []struct {
		id   map[string]string
		want typev3.RateLimitStrategy_BlanketRule
	}{
		{map[string]string{"tenant": "banned"}, typev3.RateLimitStrategy_DENY_ALL}, // a zero limit
		{map[string]string{"tenant": "unknown"}, typev3.RateLimitStrategy_ALLOW_ALL},
		{map[string]string{"path": "/"}, typev3.RateLimitStrategy_ALLOW_ALL},
	} {
		cl.request(tc.id)
		waitFor(t, "an assignment for "+key(tc.id), func() bool {
			b := cl.bucket(tc.id)
			return b != nil && b.action != nil
		})
		s := cl.bucket(tc.id).action.GetQuotaAssignmentAction().GetRateLimitStrategy()
		if s.GetTokenBucket() != nil || s.GetBlanketRule() != tc.want {
			t.Fatalf("%v: got %v, want blanket %v", tc.id, s, tc.want)
		}
	}
}

func TestDeletedPolicyAbandonsItsBuckets(t *testing.T) {
	c := startCluster(t, 1)
	srv, conn := rlqsOn(t, c, 0, nil)
	cl := newEnvoyClient(t, conn, "edge", reportEvery)
	silver := map[string]string{"tenant": "silver"}
	cl.request(silver)
	waitFor(t, "a token bucket", func() bool { b := cl.bucket(silver); return b != nil && b.tb != nil })

	deleteAllButGold(t, c)
	waitAbandoned(t, cl, silver)
	// Made again at its next request, it matches nothing now: ALLOW_ALL.
	cl.request(silver)
	waitFor(t, "the new bucket's assignment", func() bool { b := cl.bucket(silver); return b != nil && b.action != nil })
	if s := cl.bucket(silver).action.GetQuotaAssignmentAction().GetRateLimitStrategy(); s.GetBlanketRule() != typev3.RateLimitStrategy_ALLOW_ALL || s.GetTokenBucket() != nil {
		t.Fatalf("after the rule's deletion: %v, want ALLOW_ALL", s)
	}

	// A planned stop moves every bucket to its fallback at once, and ends
	// the streams.
	srv.Stop()
	waitFor(t, "a TTL of 0", func() bool { cl.mu.Lock(); defer cl.mu.Unlock(); return cl.zeroTTL > 0 })
	waitFor(t, "the stream to end", func() bool { return srv.Streams() == 0 })
}

// A key used up gets DENY_ALL, having admitted no more than its limit.
func TestUsedUpKeyIsDenied(t *testing.T) {
	c := startCluster(t, 1)
	_, conn := rlqsOn(t, c, 0, nil)
	cl := newEnvoyClient(t, conn, "edge", reportEvery)
	tiny := map[string]string{"tenant": "tiny"}
	admitted := 0
	waitFor(t, "DENY_ALL", func() bool {
		for range 10 {
			if cl.request(tiny) {
				admitted++
			}
		}
		b := cl.bucket(tiny)
		s := b.action.GetQuotaAssignmentAction().GetRateLimitStrategy()
		return s != nil && s.GetTokenBucket() == nil && s.GetBlanketRule() == typev3.RateLimitStrategy_DENY_ALL
	})
	if admitted != 5 {
		t.Fatalf("admitted %d of a key limited to 5", admitted)
	}
}

func TestVanishedStreamReturnsItsTokensAfterItsTTL(t *testing.T) {
	c := startCluster(t, 1)
	store := gostats.NewStore(gostats.NewNullSink(), false)
	_, conn := rlqsOn(t, c, 0, store)
	returned := store.NewCounter("rlqs.tokens.returned")
	assigned := store.NewCounter("rlqs.tokens.assigned")
	silver := map[string]string{"tenant": "silver"}

	cl := newEnvoyClient(t, conn, "edge", reportEvery)
	// Demand the reports carry, all denied: none admitted even when the
	// assignment lands while they are made (a loaded machine).
	cl.request(silver)
	cl.deny(silver, 399)
	// The first report carries one request; the next the rest, and the
	// lease follows that demand.
	waitFor(t, "a lease sized by the demand reported", func() bool {
		b := cl.bucket(silver)
		return b != nil && b.tb != nil && b.tb.GetMaxTokens() >= 10
	})
	b := cl.bucket(silver)
	ttl := time.Duration(b.action.GetQuotaAssignmentAction().GetAssignmentTimeToLive().GetSeconds()) * time.Second
	cl.stop() // gone without a word, having spent nothing
	gone := time.Now()

	waitFor(t, "the tokens back", func() bool { return returned.Value() >= assigned.Value() })
	if waited := time.Since(gone); waited < ttl-time.Second {
		t.Fatalf("tokens came back %v after the stream ended, before its TTL of %v", waited, ttl)
	}
	if returned.Value() != assigned.Value() {
		t.Fatalf("returned %d of %d tokens assigned to a client that admitted nothing", returned.Value(), assigned.Value())
	}
	// They are the replica's again: its own callers spend them.
	resp, err := c.Client(0).ShouldRateLimit(t.Context(), &rlsv3.RateLimitRequest{Domain: "edge",
		Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: "tenant", Value: "silver"}}}}})
	if err != nil || resp.GetOverallCode() != rlsv3.RateLimitResponse_OK {
		t.Fatalf("ShouldRateLimit after the return: %v %v", resp, err)
	}
}

// deleteAllButGold leaves c's replicas the gold rule alone.
func deleteAllButGold(t testing.TB, c *clustertest.Cluster) {
	t.Helper()
	c.SetSnapshot(testkit.Compile(t, `
domain: edge
descriptors:
  - key: tenant
    value: gold
    rate_limit: {unit: second, requests_per_unit: 2000}
`))
}

// waitAbandoned waits until cl's bucket id is abandoned, and wants it the
// only one.
func waitAbandoned(t testing.TB, cl *envoyClient, id map[string]string) {
	t.Helper()
	waitFor(t, "the bucket abandoned", func() bool { return cl.bucket(id) == nil })
	cl.mu.Lock()
	abandoned := cl.abandoned
	cl.mu.Unlock()
	if abandoned != 1 {
		t.Fatalf("abandoned %d buckets, want 1", abandoned)
	}
}
