package serving

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/testkit"
)

// start serves s on loopback port 0 until the returned cancel; done
// receives Serve's result.
func start(t *testing.T, s *Server) (Listeners, context.CancelFunc, <-chan error) {
	t.Helper()
	l, err := Listen("127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	returned := make(chan struct{})
	go func() {
		done <- s.Serve(ctx, l)
		close(returned)
	}()
	t.Cleanup(func() {
		cancel()
		testkit.Receive(t, "Serve to return", returned)
	})
	return l, cancel, done
}

func healthClient(t *testing.T, addr string) healthpb.HealthClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func TestServeAnswersThenDrainsOnContextEnd(t *testing.T) {
	s := New(Options{})
	s.Mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "pong") })
	l, cancel, done := start(t, s)

	resp, err := healthClient(t, l.LoopbackGRPC()).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("grpc health: %v, %v", resp, err)
	}
	r, err := http.Get("http://" + l.HTTP.Addr().String() + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(body) != "pong" {
		t.Fatalf("http body = %q", body)
	}

	cancel()
	if err := testkit.Receive(t, "Serve to return", done); err != nil {
		t.Fatalf("Serve after ctx end = %v, want nil", err)
	}
	if c, err := net.Dial("tcp", l.GRPC.Addr().String()); err == nil {
		c.Close()
		t.Error("the gRPC listener still accepts after Serve returned")
	}
	if c, err := net.Dial("tcp", l.HTTP.Addr().String()); err == nil {
		c.Close()
		t.Error("the HTTP listener still accepts after Serve returned")
	}
}

func TestBeforeStopRunsInOrderBeforeDrain(t *testing.T) {
	s := New(Options{})
	var order []string
	s.BeforeStop(func() { order = append(order, "first") })
	s.BeforeStop(func() {
		// The servers are still up: a part may end its streams cleanly.
		resp, err := s.Health.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("health during BeforeStop = %v, %v; want NOT_SERVING", resp, err)
		}
		order = append(order, "second")
	})
	_, cancel, done := start(t, s)
	cancel()
	testkit.Receive(t, "Serve to return", done)
	if strings.Join(order, ",") != "first,second" {
		t.Fatalf("BeforeStop ran %v, want [first second]", order)
	}
}

// A stream that never ends is cut at the drain deadline instead of
// holding the role open.
func TestDrainCutsStreamsThatStayOpen(t *testing.T) {
	s := New(Options{Drain: 50 * time.Millisecond})
	l, cancel, done := start(t, s)
	watch, err := healthClient(t, l.LoopbackGRPC()).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := testkit.Receive(t, "Serve to return with a stream open", done); err != nil {
		t.Fatal(err)
	}
}

// failingListener fails every Accept, as a listener whose socket broke.
type failingListener struct{ net.Listener }

func (failingListener) Accept() (net.Conn, error) { return nil, errors.New("socket broke") }

func TestServeReportsAListenerFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(*Listeners)
		want string
	}{
		{"grpc", func(l *Listeners) { l.GRPC = failingListener{l.GRPC} }, "grpc server: socket broke"},
		{"http", func(l *Listeners) { l.HTTP = failingListener{l.HTTP} }, "http server: socket broke"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Listen("127.0.0.1:0", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			tc.wrap(&l)
			s := New(Options{})
			stopped := false
			s.BeforeStop(func() { stopped = true })
			done := make(chan error, 1)
			go func() { done <- s.Serve(context.Background(), l) }()
			err = testkit.Receive(t, "Serve to fail", done)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Serve = %v, want %q", err, tc.want)
			}
			if !stopped {
				t.Error("BeforeStop did not run after a failure")
			}
		})
	}
}

func TestListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := Listen(busy.Addr().String(), ""); err == nil || !strings.Contains(err.Error(), "grpc listener") {
		t.Errorf("busy gRPC address: %v", err)
	}
	if _, err := Listen("127.0.0.1:0", busy.Addr().String()); err == nil || !strings.Contains(err.Error(), "http listener") {
		t.Errorf("busy HTTP address: %v", err)
	}
	l, err := Listen("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.HTTP != nil {
		t.Error("an empty HTTP address bound a listener")
	}
	if got := l.LoopbackGRPC(); got != l.GRPC.Addr().String() {
		t.Errorf("LoopbackGRPC = %s, want %s", got, l.GRPC.Addr())
	}
}
