package serving

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/testkit"
)

// A Local server answers the clients its DialOptions connect, and Stop
// ends it.
func TestLocalServesInProcess(t *testing.T) {
	l := NewLocal()
	hs := New(Options{}).Health // any health service will do
	healthpb.RegisterHealthServer(l.GRPC, hs)
	l.Start()
	cc, err := grpc.NewClient(l.Target(), l.DialOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("check over the in-process listener: %v, %v", resp, err)
	}
	stopped := make(chan struct{})
	go func() { l.Stop(time.Second); close(stopped) }()
	testkit.Receive(t, "Stop to return", stopped)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Fatal("a stopped Local server still answers")
	}
	NewLocal().Stop(time.Second) // never started: returns
}
