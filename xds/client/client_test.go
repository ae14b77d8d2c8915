package client

import (
	"context"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/tlsfiles"
	"github.com/floodgate/floodgate/policy"
	stats "github.com/lyft/gostats"
)

// closeWithin calls Close and fails t if it does not return within the
// budget, instead of hanging the package.
func closeWithin(t *testing.T, c *Client) {
	t.Helper()
	returned := make(chan error, 1)
	go func() { returned <- c.Close() }()
	if err := testkit.Receive(t, "Close to return", returned); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// stopped reports whether the client's goroutine has returned.
func stopped(c *Client) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// A client stops its goroutine on Close and when its context ends. The
// control plane it is given refuses connections, so a running client is
// busy retrying until it is stopped.
func TestClientCloseStops(t *testing.T) {
	start := func(t *testing.T, ctx context.Context) *Client {
		st := stats.NewStore(stats.NewNullSink(), false)
		c, err := New(Options{Addrs: []string{"127.0.0.1:1"}, NodeID: "n", Apply: func(*policy.Snapshot) {},
			Stats: st, Logger: testkit.Quiet})
		if err != nil {
			t.Fatal(err)
		}
		failed := st.NewCounter("xds.client.connect.failed")
		if ctx != nil {
			c.Start(ctx)
			testkit.Eventually(t, "a first failed connection attempt", func() bool { return failed.Value() >= 1 })
		}
		return c
	}

	t.Run("never started", func(t *testing.T) {
		c := start(t, nil)
		closeWithin(t, c)
		if !stopped(c) {
			t.Fatal("Close of a client never started left it running")
		}
	})

	t.Run("Close", func(t *testing.T) {
		c := start(t, context.Background())
		if stopped(c) {
			t.Fatal("the client stopped by itself")
		}
		closeWithin(t, c)
		if !stopped(c) {
			t.Fatal("Close returned while the client's goroutine still runs")
		}
		closeWithin(t, c) // a second Close is harmless
	})

	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c := start(t, ctx)
		cancel()
		testkit.Receive(t, "the client's goroutine to return after its context ended", c.done)
		closeWithin(t, c)
	})
}

func TestNewClientChecksOptions(t *testing.T) {
	apply := func(*policy.Snapshot) {}
	tests := []struct {
		name string
		opts Options
		err  string
	}{
		{"no address", Options{NodeID: "n", Apply: apply}, "no control-plane address"},
		{"no node", Options{Addrs: []string{"x:1"}, Apply: apply}, "no node ID"},
		{"no apply", Options{Addrs: []string{"x:1"}, NodeID: "n"}, "no Apply"},
		{"bad type", Options{Addrs: []string{"x:1"}, NodeID: "n", Apply: apply, TypeURL: "t"}, "unknown resource type"},
		{"half a cert", Options{Addrs: []string{"x:1"}, NodeID: "n", Apply: apply, TLS: tlsfiles.Files{CertFile: "c"}}, "both"},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		}
	}
}
