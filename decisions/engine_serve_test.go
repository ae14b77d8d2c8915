package decisions

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/internal/testkit"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// startEngineRole serves a memory-backed engine's role on loopback ports
// until stop, which returns what serving returned; the test's end stops
// it too.
func startEngineRole(t *testing.T) (e *Engine, l serving.Listeners, stop func() error) {
	t.Helper()
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	e, err := NewEngine(EngineOptions{Counter: store, Publisher: &MemoryBus{}, FlushInterval: time.Hour, Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	srv := serving.New(serving.Options{GRPC: ServerOptions()})
	e.ServeOn(srv)
	l, err = serving.Listen("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return testkit.Receive(t, "the engine role to stop", served)
	})
	t.Cleanup(func() { _ = stop() })
	return e, l, stop
}

// An engine role answers its health check and takes hit streams.
func TestEngineServeOn(t *testing.T) {
	_, l, _ := startEngineRole(t)
	resp, err := http.Get("http://" + l.HTTP.Addr().String() + "/healthcheck")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "OK\n" {
		t.Fatalf("/healthcheck = %d %q", resp.StatusCode, body)
	}
	stream := openHitStream(t, context.Background(), l.LoopbackGRPC())
	if _, err := stream.Header(); err != nil {
		t.Fatalf("hit stream: %v", err)
	}
}

// When the engine role stops, it ends the replicas' hit streams itself
// (before, the server waited out its drain timeout on them and then cut
// them), and a batch sent after that is not acknowledged.
func TestEngineRoleEndsHitStreamsWhenItStops(t *testing.T) {
	e, l, stop := startEngineRole(t)
	e.SetSnapshot(testSnapshot(t))
	stream := openHitStream(t, context.Background(), l.LoopbackGRPC())
	now := time.Now().Unix()
	if err := stream.Send(&enginepb.HitBatch{ReplicaId: "r", Seq: 1, Hits: []*enginepb.Hit{hit([]string{"shared", "team-x"}, 1, now)}}); err != nil {
		t.Fatal(err)
	}
	if ack, err := stream.Recv(); err != nil || ack.GetSeq() != 1 {
		t.Fatalf("ack %v, %v", ack, err)
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	_, err := stream.Recv()
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "engine stopping") {
		t.Fatalf("the stream ended with %v, want the engine's own Unavailable", err)
	}
}
