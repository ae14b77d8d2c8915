package decisions

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/internal/testkit"
)

// An engine role answers its health check and takes hit streams.
func TestEngineServeOn(t *testing.T) {
	store := counter.NewMemory()
	defer store.Close()
	e, err := NewEngine(EngineOptions{Counter: store, Publisher: &MemoryBus{}, FlushInterval: time.Hour, Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv := serving.New(serving.Options{})
	e.ServeOn(srv)
	l, err := serving.Listen("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	defer func() {
		cancel()
		testkit.Receive(t, "the engine role to stop", done)
	}()

	resp, err := http.Get("http://" + l.HTTP.Addr().String() + "/healthcheck")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "OK\n" {
		t.Fatalf("/healthcheck = %d %q", resp.StatusCode, body)
	}
	stream := openHitStream(t, ctx, l.LoopbackGRPC())
	if _, err := stream.Header(); err != nil {
		t.Fatalf("hit stream: %v", err)
	}
}
