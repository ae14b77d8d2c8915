package decisions

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/redisconn"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

func leaseEngine(t *testing.T, store counter.Store, bus Publisher) *Engine {
	t.Helper()
	e, err := NewEngine(EngineOptions{Counter: store, Publisher: bus, FlushInterval: 5 * time.Millisecond, Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testSnapshot(t))
	return e
}

func askFor(at int64, want uint64, entries ...string) *enginepb.LeaseAsk {
	a := &enginepb.LeaseAsk{Domain: "api", WindowStart: at, Want: want}
	for i := 0; i+1 < len(entries); i += 2 {
		a.Entries = append(a.Entries, &enginepb.Entry{Key: entries[i], Value: entries[i+1]})
	}
	return a
}

// Grants are capped at a share of what remains, never pass the limit, and
// a key used up is published as throttled; asks the engine cannot count
// say why.
func TestEngineGrants(t *testing.T) {
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	bus := &MemoryBus{}
	got := make(chan Decision, 16)
	go func() { _ = bus.Subscribe(t.Context(), func(d Decision) { got <- d }) }()
	e := leaseEngine(t, store, bus)
	now := time.Now().Unix()
	minute := now - now%60

	var tokens uint64
	for i := range 20 {
		r := e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r", Seq: uint64(i),
			Asks: []*enginepb.LeaseAsk{askFor(now, 100, "shared", "team-a")}})
		g := r.GetGrants()[0]
		if r.GetSeq() != uint64(i) || g.GetStatus() != enginepb.Grant_OK || g.GetLimit() != 5 {
			t.Fatalf("reply %d: %v", i, r)
		}
		if i == 0 && g.GetTokens() != 3 { // ceil(5 / (2 × 1 replica))
			t.Fatalf("first grant %d tokens, want 3", g.GetTokens())
		}
		tokens += g.GetTokens()
		if tokens+g.GetRemaining() != 5 {
			t.Fatalf("granted %d, remaining %d: more than the limit of 5", tokens, g.GetRemaining())
		}
	}
	if tokens != 5 {
		t.Fatalf("granted %d tokens of a limit of 5", tokens)
	}
	d := testkit.Receive(t, "the throttle of the used-up key", got)
	if d.State != Throttled || d.Key != "api_shared_team*_"+strconv.FormatInt(minute, 10) {
		t.Fatalf("published %+v", d)
	}

	r := e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r", Asks: []*enginepb.LeaseAsk{
		askFor(now, 1, "nobody", "x"),
		askFor(now-3600, 1, "user", "u"),
		askFor(now, 1, "free", "x"),
	}})
	want := []enginepb.Grant_Status{enginepb.Grant_UNMATCHED, enginepb.Grant_STALE, enginepb.Grant_UNMATCHED}
	for i, g := range r.GetGrants() {
		if g.GetStatus() != want[i] || g.GetTokens() != 0 {
			t.Errorf("ask %d: %v, want %v and no tokens", i, g, want[i])
		}
	}
}

// An engine whose Redis is down grants nothing, says UNAVAILABLE, and its
// health check fails naming the counter store until Redis is back.
func TestEngineCounterStoreDown(t *testing.T) {
	rds := testserver.Redis(t)
	client, err := redisconn.New("redis://" + rds.Addr + "/0?dial_timeout=200ms&read_timeout=500ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	e := leaseEngine(t, counter.NewRedis(client, "t:"), &MemoryBus{})
	srv := serving.New(serving.Options{})
	e.ServeOn(srv)
	health := func() (int, string) {
		w := httptest.NewRecorder()
		srv.Mux.ServeHTTP(w, httptest.NewRequest("GET", "/healthcheck", nil))
		return w.Code, w.Body.String()
	}
	if code, body := health(); code != http.StatusOK {
		t.Fatalf("/healthcheck with Redis up = %d %q", code, body)
	}
	grant := func() *enginepb.Grant {
		return e.Grant(context.Background(), &enginepb.LeaseRequest{ReplicaId: "r",
			Asks: []*enginepb.LeaseAsk{askFor(time.Now().Unix(), 1, "user", "down")}}).GetGrants()[0]
	}
	if g := grant(); g.GetStatus() != enginepb.Grant_OK || g.GetTokens() != 1 {
		t.Fatalf("grant with Redis up: %v", g)
	}

	rds.Stop()
	if g := grant(); g.GetStatus() != enginepb.Grant_UNAVAILABLE || g.GetTokens() != 0 {
		t.Fatalf("grant with Redis down: %v", g)
	}
	testkit.Eventually(t, "health to name the counter store", func() bool {
		code, body := health()
		return code == http.StatusInternalServerError && strings.Contains(body, "counter store")
	})
	rds.Start()
	testkit.Eventually(t, "health back", func() bool { code, _ := health(); return code == http.StatusOK })
}
