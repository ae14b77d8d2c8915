package decisions

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

func TestThrottleBoardKeepsWhatIsInForce(t *testing.T) {
	now := time.Unix(1000, 0)
	b := &ThrottleBoard{Now: func() time.Time { return now }}
	b.Apply(Decision{Domain: "api", Key: "a", State: Throttled, WindowEnd: 1060, Engine: "e1", Seq: 1})
	b.Apply(Decision{Domain: "api", Key: "b", State: Throttled, WindowEnd: 1010, Engine: "e2", Seq: 1})
	b.Apply(Decision{Domain: "api", Key: "c", State: Throttled, WindowEnd: 1030, Engine: "e1", Seq: 2})
	b.Apply(Decision{Domain: "api", Key: "c", State: Released, WindowEnd: 1030, Engine: "e1", Seq: 3})
	// An older decision arriving late changes nothing.
	b.Apply(Decision{Domain: "api", Key: "a", State: Released, WindowEnd: 1000, Engine: "e1", Seq: 0})

	got := b.InForce()
	if len(got) != 2 || got[0].Key != "b" || got[1].Key != "a" {
		t.Fatalf("in force: %+v, want b then a", got)
	}
	now = time.Unix(1010, 0)
	if got := b.InForce(); len(got) != 1 || got[0].Key != "a" {
		t.Fatalf("after b's window: %+v", got)
	}

	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/throttles", nil))
	var body struct{ Throttles []ThrottleJSON }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Throttles) != 1 || body.Throttles[0].Engine != "e1" || body.Throttles[0].WindowEnd.Unix() != 1060 {
		t.Fatalf("GET /v1/throttles: %s", rec.Body)
	}
}

// Follow catches up on a bus and stops with its context.
func TestThrottleBoardFollowsABus(t *testing.T) {
	bus := &MemoryBus{}
	end := time.Now().Add(time.Minute).Unix()
	bus.Publish(context.Background(), []Decision{{Domain: "api", Key: "k", State: Throttled, WindowEnd: end, Engine: "e1"}})
	var b ThrottleBoard
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Follow(ctx, bus) }()
	testkit.Eventually(t, "the board to catch up", func() bool { return len(b.InForce()) == 1 })
	cancel()
	if err := testkit.Receive(t, "Follow to return", done); err != nil {
		t.Fatal(err)
	}
}
