package serving

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/internal/testkit"
)

// registerBlocker serves /test.Blocker/Hold, which holds each call until
// release is closed and says on held that it holds one.
func registerBlocker(s *grpc.Server, held chan<- struct{}, release <-chan struct{}) {
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "test.Blocker",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Hold", Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(healthpb.HealthCheckRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(context.Context, any) (any, error) {
				held <- struct{}{}
				<-release
				return &healthpb.HealthCheckResponse{}, nil
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/test.Blocker/Hold"}, h)
		}}},
	}, struct{}{})
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Calls past MaxInflight are refused at once, naming the bound and
// counted; once the held calls end, calls are taken again.
func TestMaxInflightRefusesCallsOverTheBound(t *testing.T) {
	sc := nullstats.Scope()
	s := New(Options{Limits: GRPCLimits{MaxInflight: 2}, Stats: sc})
	held, release := make(chan struct{}, 2), make(chan struct{})
	registerBlocker(s.GRPC, held, release)
	l, _, _ := start(t, s)
	conn := dial(t, l.LoopbackGRPC())
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			errs <- conn.Invoke(context.Background(), "/test.Blocker/Hold", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
		}()
	}
	testkit.Receive(t, "the first call held", held)
	testkit.Receive(t, "the second call held", held)

	err := conn.Invoke(context.Background(), "/test.Blocker/Hold", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "over --max-inflight 2") {
		t.Fatalf("third call = %v; want ResourceExhausted naming --max-inflight 2", err)
	}
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a health check at the bound = %v; want ResourceExhausted", err)
	}
	if got := sc.NewCounter("grpc.inflight_refused").Value(); got != 2 {
		t.Errorf("grpc.inflight_refused = %d, want 2", got)
	}
	close(release)
	for range 2 {
		if err := testkit.Receive(t, "a held call to end", errs); err != nil {
			t.Fatalf("held call: %v", err)
		}
	}
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("a call under the bound again: %v", err)
	}
}

// A request over MaxRecvMsgSize gets ResourceExhausted naming the bound.
func TestMaxRecvMsgSizeRefusesLargerRequests(t *testing.T) {
	s := New(Options{Limits: GRPCLimits{MaxRecvMsgSize: 1024}})
	l, _, _ := start(t, s)
	hc := healthClient(t, l.LoopbackGRPC())
	if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: strings.Repeat("x", 900)}); status.Code(err) != codes.NotFound {
		t.Fatalf("a request under the bound = %v; want it answered (NotFound: no such service)", err)
	}
	_, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: strings.Repeat("x", 2000)})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), strconv.Itoa(1024)) {
		t.Fatalf("a request over the bound = %v; want ResourceExhausted naming 1024", err)
	}
}

// A client that pings more often than KeepaliveMinTime is sent away with
// GOAWAY too_many_pings.
func TestKeepaliveEnforcementCutsPingFloods(t *testing.T) {
	s := New(Options{Limits: GRPCLimits{KeepaliveMinTime: time.Minute}})
	l, _, _ := start(t, s)
	c, err := net.Dial("tcp", l.LoopbackGRPC())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			break // the server may have closed already
		}
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("connection ended without GOAWAY: %v", err)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			if g.ErrCode != http2.ErrCodeEnhanceYourCalm || string(g.DebugData()) != "too_many_pings" {
				t.Fatalf("GOAWAY %v %q; want ENHANCE_YOUR_CALM too_many_pings", g.ErrCode, g.DebugData())
			}
			return
		}
	}
}
