package integration

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	xdsclient "github.com/floodgate/floodgate/xds/client"
	"github.com/floodgate/floodgate/xds/controlplane"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/ratelimit"
)

// xdsControlPlane is a control plane serving on fixed loopback addresses,
// so that it can be stopped and started again where its clients expect it.
type xdsControlPlane struct {
	t        *testing.T
	opts     func() controlplane.ServerOptions // fresh options (and store) per start
	grpcAddr string
	httpAddr string
	srv      *controlplane.Server
	stop     func()
}

func newXDSControlPlane(t *testing.T, opts func() controlplane.ServerOptions) *xdsControlPlane {
	t.Helper()
	cp := &xdsControlPlane{t: t, opts: opts, grpcAddr: xdsFreeAddr(t), httpAddr: xdsFreeAddr(t)}
	cp.start()
	t.Cleanup(func() { cp.kill() })
	return cp
}

func xdsFreeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (cp *xdsControlPlane) start() {
	t := cp.t
	t.Helper()
	srv, err := controlplane.NewServer(context.Background(), cp.opts())
	if err != nil {
		t.Fatalf("control plane: %v", err)
	}
	gl, err := net.Listen("tcp", cp.grpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", cp.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, gl, hl) }()
	cp.srv = srv
	cp.stop = func() {
		cancel()
		if err := testkit.Receive(t, "the control plane stopped", done); err != nil {
			t.Errorf("control plane: %v", err)
		}
	}
}

// kill stops the control plane and waits until it has stopped.
func (cp *xdsControlPlane) kill() {
	if cp.stop != nil {
		cp.stop()
		cp.stop = nil
	}
}

func (cp *xdsControlPlane) admin(method, path, token, body string, header ...string) (int, string) {
	cp.t.Helper()
	req, err := http.NewRequest(method, "http://"+cp.httpAddr+path, bytes.NewBufferString(body))
	if err != nil {
		cp.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cp.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// xdsReplica is an RLS fed only by xDS: a ratelimit.Service, an xdsclient.Client
// and a gRPC server on loopback.
type xdsReplica struct {
	svc    *ratelimit.Service
	client *xdsclient.Client
	rls    rlsv3.RateLimitServiceClient
}

func newXDSReplica(t *testing.T, nodeID string, addrs ...string) *xdsReplica {
	t.Helper()
	svc := ratelimit.NewService(ratelimit.Options{Limiter: ratelimit.NewExactLimiter(counter.NewMemory())})
	c, err := xdsclient.New(xdsclient.Options{
		Addrs: addrs, NodeID: nodeID,
		Apply:   svc.SetSnapshot,
		Reject:  func(error) { svc.RejectSnapshot() },
		Backoff: backoff.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Logger:  testkit.Quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })

	g := grpc.NewServer()
	svc.Register(g)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(l)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &xdsReplica{svc: svc, client: c, rls: rlsv3.NewRateLimitServiceClient(conn)}
}

// code asks the replica about one descriptor of domain.
func (r *xdsReplica) code(t *testing.T, domain, key, value string) rlsv3.RateLimitResponse_Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := r.rls.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{
		Domain:      domain,
		Descriptors: []*commonrl.RateLimitDescriptor{{Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}}},
		HitsAddend:  1,
	})
	if err != nil {
		t.Fatalf("ShouldRateLimit: %v", err)
	}
	return resp.GetOverallCode()
}
