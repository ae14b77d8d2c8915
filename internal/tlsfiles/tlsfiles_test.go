package tlsfiles

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"

	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/internal/testkit"
)

// clock is a time the test moves on, so that a rotation is seen without
// waiting out Options.Every.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// secretDir lays files out as Kubernetes mounts a secret: every name a
// symlink through ..data, which a rotation swaps to a new directory.
type secretDir struct {
	dir string
	gen int
}

func newSecretDir(t *testing.T, files map[string][]byte) *secretDir {
	s := &secretDir{dir: t.TempDir()}
	s.rotate(t, files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(s.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *secretDir) path(name string) string { return filepath.Join(s.dir, name) }

// rotate writes files to a new directory and swaps ..data to it at once.
func (s *secretDir) rotate(t *testing.T, files map[string][]byte) {
	t.Helper()
	s.gen++
	gen := filepath.Join(s.dir, "..gen"+strings.Repeat("x", s.gen))
	if err := os.Mkdir(gen, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(gen, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(s.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(gen), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// serveHealth serves gRPC health over creds on loopback.
func serveHealth(t *testing.T, cfg *tls.Config) (addr string, hs *health.Server) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)))
	hs = health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), hs
}

// peerName dials addr anew with creds and returns the common name of the
// server's certificate, or the call's error.
func peerName(t *testing.T, addr string, creds credentials.TransportCredentials) (string, error) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Budget)
	defer cancel()
	var p peer.Peer
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(&p)); err != nil {
		return "", err
	}
	return p.AuthInfo.(credentials.TLSInfo).State.PeerCertificates[0].Subject.CommonName, nil
}

func TestRotationReachesNewHandshakesAndKeepsStreams(t *testing.T) {
	pki := testkit.NewPKI(t)
	secret := newSecretDir(t, map[string][]byte{"tls.crt": pki.ServerCertPEM, "tls.key": pki.ServerKeyPEM, "ca.crt": pki.CAPEM})
	clk := &clock{now: time.Now()}
	stats := nullstats.Scope()
	cfg, err := Files{CertFile: secret.path("tls.crt"), KeyFile: secret.path("tls.key"), CAFile: secret.path("ca.crt")}.
		ServerConfig(ServerOptions{Options: Options{Stats: stats, Logger: testkit.Quiet, Now: clk.Now}})
	if err != nil {
		t.Fatal(err)
	}
	addr, hs := serveHealth(t, cfg)
	client, err := Files{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}.ClientCredentials(Options{Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	if name, err := peerName(t, addr, client); err != nil || name != "server" {
		t.Fatalf("before rotation: %q, %v", name, err)
	}

	// A stream established before the rotation.
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(client))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	updates := make(chan healthpb.HealthCheckResponse_ServingStatus, 4)
	go func() {
		for {
			m, err := watch.Recv()
			if err != nil {
				close(updates)
				return
			}
			updates <- m.GetStatus()
		}
	}()
	if s := testkit.Receive(t, "the stream's first status", updates); s != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first status %v", s)
	}

	c2, k2 := pki.IssuePEM(t, "server-2", x509.ExtKeyUsageServerAuth)
	secret.rotate(t, map[string][]byte{"tls.crt": c2, "tls.key": k2, "ca.crt": pki.CAPEM})
	clk.Advance(2 * time.Second)
	if name, err := peerName(t, addr, client); err != nil || name != "server-2" {
		t.Fatalf("after rotation: %q, %v", name, err)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	if s := testkit.Receive(t, "the old stream's next status", updates); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("old stream after rotation: %v", s)
	}

	// A bad rotation: the last good pair stays, and the failure is counted.
	secret.rotate(t, map[string][]byte{"tls.crt": []byte("not a certificate"), "tls.key": k2, "ca.crt": pki.CAPEM})
	clk.Advance(2 * time.Second)
	if name, err := peerName(t, addr, client); err != nil || name != "server-2" {
		t.Fatalf("after a bad rotation: %q, %v", name, err)
	}
	if n := stats.NewCounter("tls.reload_failed").Value(); n != 1 {
		t.Fatalf("tls.reload_failed = %d, want 1", n)
	}
	if n := stats.NewCounter("tls.reloaded").Value(); n != 1 {
		t.Fatalf("tls.reloaded = %d, want 1", n)
	}
}

// A client's own certificate and its CA rotate too.
func TestClientRotation(t *testing.T) {
	pki := testkit.NewPKI(t)
	cfg, err := Files{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CA}.ServerConfig(ServerOptions{Options: Options{Logger: testkit.Quiet}})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveHealth(t, cfg)
	other := testkit.NewPKI(t) // a CA that did not sign the server
	secret := newSecretDir(t, map[string][]byte{"ca.crt": other.CAPEM, "tls.crt": pki.ClientCertPEM, "tls.key": pki.ClientKeyPEM})
	clk := &clock{now: time.Now()}
	client, err := Files{CAFile: secret.path("ca.crt"), CertFile: secret.path("tls.crt"), KeyFile: secret.path("tls.key")}.
		ClientCredentials(Options{Logger: testkit.Quiet, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peerName(t, addr, client); err == nil {
		t.Fatal("a server its CA did not sign was trusted")
	}
	secret.rotate(t, map[string][]byte{"ca.crt": pki.CAPEM, "tls.crt": pki.ClientCertPEM, "tls.key": pki.ClientKeyPEM})
	clk.Advance(2 * time.Second)
	if _, err := peerName(t, addr, client); err != nil {
		t.Fatalf("after the CA rotated: %v", err)
	}
}

func TestMutualTLSAndClientSAN(t *testing.T) {
	pki := testkit.NewPKI(t)
	serve := func(san string) string {
		cfg, err := Files{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CA, ClientSAN: san}.ServerConfig(ServerOptions{Options: Options{Logger: testkit.Quiet}})
		if err != nil {
			t.Fatal(err)
		}
		addr, _ := serveHealth(t, cfg)
		return addr
	}
	creds := func(f Files) credentials.TransportCredentials {
		c, err := f.ClientCredentials(Options{Logger: testkit.Quiet})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	withCert := creds(Files{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey})
	noCert := creds(Files{CAFile: pki.CA})
	for _, tc := range []struct {
		name   string
		san    string
		client credentials.TransportCredentials
		works  bool
	}{
		{"client certificate", "", withCert, true},
		{"no client certificate", "", noCert, false},
		{"certificate with the SAN", "localhost", withCert, true},
		{"certificate without the SAN", "replica.example", withCert, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := peerName(t, serve(tc.san), tc.client)
			if (err == nil) != tc.works {
				t.Fatalf("err %v, want works=%v", err, tc.works)
			}
		})
	}
}

func TestFilesErrors(t *testing.T) {
	pki := testkit.NewPKI(t)
	o := Options{Logger: testkit.Quiet}
	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"server without key", func() error { _, err := Files{CertFile: pki.ServerCert}.ServerConfig(ServerOptions{}); return err }},
		{"missing CA", func() error {
			_, err := Files{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CA + ".missing"}.ServerConfig(ServerOptions{Options: o})
			return err
		}},
		{"SAN without CA", func() error {
			_, err := Files{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientSAN: "x"}.ServerConfig(ServerOptions{Options: o})
			return err
		}},
		{"CA not PEM", func() error { _, err := Files{CAFile: pki.ServerKey}.ClientCredentials(o); return err }},
		{"half a client pair", func() error { _, err := Files{CertFile: pki.ClientCert}.ClientConfig(o); return err }},
	} {
		if err := tc.err(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// The admin API verifies a certificate only if offered.
func TestVerifyClientCertIfGiven(t *testing.T) {
	pki := testkit.NewPKI(t)
	cfg, err := Files{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CA}.ServerConfig(ServerOptions{ClientAuth: VerifyClientCertIfGiven, Options: Options{Logger: testkit.Quiet}})
	if err != nil {
		t.Fatal(err)
	}
	per, err := cfg.GetConfigForClient(&tls.ClientHelloInfo{})
	if err != nil || per.ClientAuth != tls.VerifyClientCertIfGiven || per.ClientCAs == nil {
		t.Fatalf("per-handshake config: %v, %v", per.ClientAuth, err)
	}
}
