package client

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds"
)

var quiet = slog.New(slog.DiscardHandler)

func TestClientCloseStops(t *testing.T) {
	c, err := New(Options{Addrs: []string{"127.0.0.1:1"}, NodeID: "n", Apply: func(*policy.Snapshot) {}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // never started

	c, _ = New(Options{Addrs: []string{"127.0.0.1:1"}, NodeID: "n", Apply: func(*policy.Snapshot) {}, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	cancel()
	// The context alone stops it.
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the client's goroutine still runs 5s after its context ended")
	}
	c.Close()
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
		{"half a cert", Options{Addrs: []string{"x:1"}, NodeID: "n", Apply: apply, TLS: xds.TLSFiles{CertFile: "c"}}, "both"},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		}
	}
}
