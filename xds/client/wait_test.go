package client

import (
	"context"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds"
)

func TestTypeURLNamed(t *testing.T) {
	for name, want := range map[string]string{"floodgate": xds.PolicyType, "standard": xds.RateLimitConfigType} {
		if got, err := TypeURLNamed(name); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := TypeURLNamed("envoy"); err == nil {
		t.Error("an unknown type name was accepted")
	}
}

// With no control plane answering, WaitReady gives up after its wait or when
// its context ends, and says no version is in force.
func TestWaitReadyWithoutControlPlane(t *testing.T) {
	c, err := New(Options{Addrs: []string{"127.0.0.1:1"}, NodeID: "n", Apply: func(*policy.Snapshot) {}, Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	defer c.Close()
	if c.WaitReady(ctx, 20*time.Millisecond) {
		t.Fatal("ready with no control plane")
	}
	cancel()
	if c.WaitReady(ctx, time.Hour) {
		t.Fatal("ready after the context ended")
	}
}
