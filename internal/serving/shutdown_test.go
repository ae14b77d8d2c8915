package serving

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/internal/testkit"
)

// A stream no part of the role ends (a health Watch) is ended by the
// server when it stops, with Unavailable, instead of holding the drain
// until the deadline cuts it: with an hour's deadline Serve still returns.
func TestStopEndsStreamsStillOpen(t *testing.T) {
	s := New(Options{Shutdown: NewShutdown(time.Hour)})
	l, cancel, done := start(t, s)
	watch, err := healthClient(t, l.LoopbackGRPC()).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	testkit.Receive(t, "Serve to return with a Watch open", done)
	for {
		_, err := watch.Recv()
		if err == nil {
			continue // NOT_SERVING comes first
		}
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "server stopping") {
			t.Fatalf("the Watch ended with %v; want Unavailable server stopping", err)
		}
		return
	}
}

// A unary call in flight when the server stops is finished, not cut.
func TestStopFinishesCallsInFlight(t *testing.T) {
	s := New(Options{Shutdown: NewShutdown(time.Hour)})
	held, release := make(chan struct{}, 1), make(chan struct{})
	registerBlocker(s.GRPC, held, release)
	l, cancel, done := start(t, s)
	errs := make(chan error, 1)
	go func() {
		errs <- dial(t, l.LoopbackGRPC()).Invoke(context.Background(), "/test.Blocker/Hold", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
	}()
	testkit.Receive(t, "the call held", held)
	cancel()
	testkit.Eventually(t, "the server to stop serving", func() bool {
		r, err := s.Health.Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING
	})
	close(release)
	if err := testkit.Receive(t, "the held call to end", errs); err != nil {
		t.Fatalf("a call in flight at stop: %v", err)
	}
	testkit.Receive(t, "Serve to return", done)
}

// Run gives up on a step still running at the deadline.
func TestShutdownRunCutsAStepAtTheDeadline(t *testing.T) {
	sd := NewShutdown(10 * time.Millisecond)
	ran := false
	sd.Run("quick", func(context.Context) { ran = true })
	if !ran {
		t.Fatal("a quick step did not run to its end")
	}
	hang := make(chan struct{})
	defer close(hang)
	returned := make(chan struct{})
	go func() { sd.Run("hang", func(context.Context) { <-hang }); close(returned) }()
	testkit.Receive(t, "Run to give up on a hanging step", returned)
}
