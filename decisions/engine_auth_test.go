package decisions

import (
	"context"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/tlsfiles"
	"github.com/floodgate/floodgate/internal/tokenfile"
)

// serveAuthEngine serves an engine on loopback behind auth, over TLS with
// client certificates verified when pki is given.
func serveAuthEngine(t *testing.T, pki *testkit.PKI, o ReplicaAuthOptions) string {
	t.Helper()
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	e, err := NewEngine(EngineOptions{Counter: store, Publisher: &MemoryBus{}, FlushInterval: time.Hour, Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	e.SetSnapshot(testSnapshot(t))
	o.Logger = testkit.Quiet
	opts := append(ServerOptions(), NewReplicaAuth(o).ServerOptions()...)
	if pki != nil {
		cfg, err := tlsfiles.Files{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CA}.
			ServerConfig(tlsfiles.ServerOptions{ClientAuth: tlsfiles.VerifyClientCertIfGiven, Options: tlsfiles.Options{Logger: testkit.Quiet}})
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg)))
	}
	s := grpc.NewServer(opts...)
	e.Register(s)
	healthpb.RegisterHealthServer(s, health.NewServer())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

func writeTokens(t *testing.T, lines string) *tokenfile.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := tokenfile.Open(path, tokenfile.Options{Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// hitStreamResult sends one batch on a new hit stream and returns the
// code its answer comes with (OK: acknowledged).
func hitStreamResult(t *testing.T, addr string, dial ...grpc.DialOption) codes.Code {
	t.Helper()
	cc, err := grpc.NewClient(addr, dial...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Budget)
	defer cancel()
	st, err := enginepb.NewThrottleEngineClient(cc).StreamHits(ctx)
	if err != nil {
		return status.Code(err)
	}
	_ = st.Send(&enginepb.HitBatch{ReplicaId: "r", Seq: 1, Hits: []*enginepb.Hit{hit([]string{"shared", "team-x"}, 1, time.Now().Unix())}})
	if _, err := st.Recv(); err != nil {
		return status.Code(err)
	}
	return codes.OK
}

func leaseResult(t *testing.T, addr string, dial ...grpc.DialOption) codes.Code {
	t.Helper()
	cc, err := grpc.NewClient(addr, dial...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Budget)
	defer cancel()
	st, err := enginepb.NewThrottleEngineClient(cc).Lease(ctx)
	if err != nil {
		return status.Code(err)
	}
	_ = st.Send(&enginepb.LeaseRequest{})
	if _, err := st.Recv(); err != nil {
		return status.Code(err)
	}
	return codes.OK
}

type staticToken string

func (s staticToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(s)}, nil
}
func (staticToken) RequireTransportSecurity() bool { return false }

func TestReplicaAuthTokensAndSubjects(t *testing.T) {
	pki := testkit.NewPKI(t)
	stats := nullstats.Scope()
	addr := serveAuthEngine(t, pki, ReplicaAuthOptions{Tokens: writeTokens(t, "# replicas\nold-token\n\ngood-token\n"), Subjects: []string{"replica-a"}, Stats: stats})
	creds := func(name string) grpc.DialOption {
		f := tlsfiles.Files{CAFile: pki.CA}
		if name != "" {
			f.CertFile, f.KeyFile = pki.Issue(t, name, x509.ExtKeyUsageClientAuth)
		}
		c, err := f.ClientCredentials(tlsfiles.Options{Logger: testkit.Quiet})
		if err != nil {
			t.Fatal(err)
		}
		return grpc.WithTransportCredentials(c)
	}
	listed, unlisted, anonymous := creds("replica-a"), creds("replica-b"), creds("")
	token := func(s string) grpc.DialOption { return grpc.WithPerRPCCredentials(staticToken(s)) }

	for _, tc := range []struct {
		name    string
		dial    []grpc.DialOption
		want    codes.Code
		counter string
	}{
		{"listed with a token", []grpc.DialOption{listed, token("good-token")}, codes.OK, ""},
		{"listed with another good token", []grpc.DialOption{listed, token("old-token")}, codes.OK, ""},
		{"no token", []grpc.DialOption{listed}, codes.Unauthenticated, "no_token"},
		{"wrong token", []grpc.DialOption{listed, token("guess")}, codes.Unauthenticated, "bad_token"},
		{"no certificate", []grpc.DialOption{anonymous, token("good-token")}, codes.Unauthenticated, "no_certificate"},
		{"unlisted subject", []grpc.DialOption{unlisted, token("good-token")}, codes.PermissionDenied, "subject_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c interface{ Value() uint64 }
			if tc.counter != "" {
				c = stats.NewCounter("engine.streams_refused." + tc.counter)
			}
			before := uint64(0)
			if c != nil {
				before = c.Value()
			}
			if got := hitStreamResult(t, addr, tc.dial...); got != tc.want {
				t.Errorf("hit stream: %v, want %v", got, tc.want)
			}
			if got := leaseResult(t, addr, tc.dial...); got != tc.want {
				t.Errorf("lease stream: %v, want %v", got, tc.want)
			}
			if c != nil && c.Value() != before+2 {
				t.Errorf("engine.streams_refused.%s = %d, want %d", tc.counter, c.Value(), before+2)
			}
		})
	}

	// Probes need no credentials.
	cc, err := grpc.NewClient(addr, anonymous)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Budget)
	defer cancel()
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health without credentials: %v", err)
	}
}

// A token alone works over plaintext on loopback, where the replica's
// Bearer explicitly allows it.
func TestReplicaAuthTokenOnLoopback(t *testing.T) {
	tokens := writeTokens(t, "s3cret\n")
	addr := serveAuthEngine(t, nil, ReplicaAuthOptions{Tokens: tokens})
	plain := grpc.WithTransportCredentials(insecure.NewCredentials())
	if got := hitStreamResult(t, addr, plain, grpc.WithPerRPCCredentials(tokenfile.Bearer{File: tokens, Loopback: true})); got != codes.OK {
		t.Fatalf("with the token: %v", got)
	}
	if got := hitStreamResult(t, addr, plain); got != codes.Unauthenticated {
		t.Fatalf("without: %v", got)
	}
}
