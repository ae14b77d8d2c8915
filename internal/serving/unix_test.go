package serving

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/testkit"
)

// A gRPC listener on unix:///path replaces a stale socket file, serves
// gRPC on the socket, and removes the file when the server stops.
func TestUnixSocketListener(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "rls.sock")
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // what a killed process leaves behind
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("stale socket: %v", err)
	}

	l, err := Listen("unix://"+sock, "")
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	if got := l.LoopbackGRPC(); got != "unix://"+sock {
		t.Errorf("LoopbackGRPC %q, want unix://%s", got, sock)
	}
	s := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			testkit.Receive(t, "Serve to return", done)
		}
	})

	resp, err := healthClient(t, "unix://"+sock).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health over the socket: %v, %v", resp, err)
	}
	if _, err := ListenGRPC("unix://" + sock); err == nil || !strings.Contains(err.Error(), "another process is listening") {
		t.Errorf("a second listener on a live socket: %v, want refused", err)
	}

	cancel()
	stopped = true
	if err := testkit.Receive(t, "Serve to return", done); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file after stop: %v, want removed", err)
	}
}

// A path that exists and is not a socket is never removed.
func TestUnixSocketListenerKeepsOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.yaml")
	if err := os.WriteFile(path, []byte("domain: api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenGRPC("unix:" + path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("listen on a regular file: %v, want refused", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "domain: api\n" {
		t.Errorf("the file after: %q %v", b, err)
	}
}
