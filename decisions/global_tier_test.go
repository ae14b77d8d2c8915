package decisions

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

const globalPolicy = "domain: api\ndescriptors:\n  - key: g\n    rate_limit: {unit: hour, requests_per_unit: 1000, scope: global}\n"

// globalEngine is an engine of datacenter dc over its own Redis, leasing
// from the global Redis at globalAddr.
func globalEngine(t *testing.T, dc, globalAddr string) *Engine {
	t.Helper()
	local := testserver.Redis(t)
	lc := redis.NewClient(&redis.Options{Addr: local.Addr})
	gc := redis.NewClient(&redis.Options{Addr: globalAddr})
	t.Cleanup(func() { _ = lc.Close(); _ = gc.Close() })
	e, err := NewEngine(EngineOptions{Counter: counter.NewRedis(lc, ""), Publisher: &MemoryBus{}, Logger: testkit.Quiet,
		Global: &GlobalOptions{Datacenter: dc, Store: counter.NewRedis(gc, ""), Name: "global", Interval: 10 * time.Millisecond,
			IdleAfter: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testkit.Compile(t, globalPolicy))
	return e
}

// grantUntil asks for want tokens of g=value until the engine grants some
// or the guard runs out; it returns the tokens granted.
func grantUntil(t *testing.T, e *Engine, value string, want uint64) *enginepb.Grant {
	t.Helper()
	now := time.Now().Unix()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r",
			Asks: []*enginepb.LeaseAsk{askFor(now, want, "g", value)}})
		g := r.GetGrants()[0]
		if g.GetTokens() > 0 || time.Now().After(deadline) {
			return g
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A global key's grants come out of what the datacenter was granted by the
// global tier; the datacenter's tokens left idle go back to it, and the
// engine's status and health show the link and the lease.
func TestGlobalTierLeasesAndHandsBack(t *testing.T) {
	global := testserver.Redis(t)
	gc := redis.NewClient(&redis.Options{Addr: global.Addr})
	t.Cleanup(func() { _ = gc.Close() })
	a, b := globalEngine(t, "a", global.Addr), globalEngine(t, "b", global.Addr)

	ga := grantUntil(t, a, "v", 300)
	if ga.GetTokens() == 0 || ga.GetTokens() > 300 {
		t.Fatalf("dc a: %v", ga)
	}
	gb := grantUntil(t, b, "v", 300)
	if gb.GetTokens() == 0 {
		t.Fatalf("dc b: %v", gb)
	}
	now := time.Now().Unix()
	key := "api_g_v_" + strconv.FormatInt(now-now%3600, 10)
	// The first grants came out of each datacenter's cold credit; its
	// next round charges them and tops the holding up.
	granted := ga.GetTokens() + gb.GetTokens()
	waitFor(t, "the global count to pass what was granted", func() bool {
		n, _ := gc.Get(context.Background(), key).Uint64()
		return n > granted && n <= 1000
	})
	waitFor(t, "dc a's holding", func() bool { s, _ := a.Global(); return len(s.Leases) == 1 && s.Leases[0].Held > 0 })

	srv := serving.New(serving.Options{})
	a.ServeOn(srv)
	rec := httptest.NewRecorder()
	srv.Mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/global", nil))
	var s GlobalStatus
	if err := json.NewDecoder(rec.Body).Decode(&s); err != nil || !s.Up || s.Datacenter != "a" || len(s.Leases) != 1 || s.Leases[0].Held == 0 {
		t.Errorf("/v1/global: %+v (%v)", s, err)
	}
	rec = httptest.NewRecorder()
	srv.Mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthcheck", nil))
	if body, _ := io.ReadAll(rec.Body); rec.Code != http.StatusOK || !strings.Contains(string(body), "datacenter a connected") {
		t.Errorf("/healthcheck: %d %s", rec.Code, body)
	}

	// Nobody spends: after IdleAfter each datacenter keeps only what it
	// granted its replicas and gives the rest back.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _ := gc.Get(context.Background(), key).Uint64()
		if n == granted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("global count %d, want %d once the idle holdings are handed back", n, granted)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
