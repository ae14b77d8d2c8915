package testserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// RedisTLS starts redis-server listening only on a TLS port, with a server
// certificate for 127.0.0.1 and localhost issued by the test's own CA
// (testkit.NewPKI). It returns the CA certificate in PEM. Clients need no
// certificate. The test is skipped if redis-server was built without TLS.
func RedisTLS(t testing.TB, extra ...string) (srv *Server, caPEM []byte) {
	t.Helper()
	srv, pki := redisTLS(t, "no", extra)
	return srv, pki.CAPEM
}

// RedisMutualTLS is RedisTLS with clients required to present a certificate
// of the same CA (tls-auth-clients yes). The PKI holds the CA's and a
// client certificate's files.
func RedisMutualTLS(t testing.TB, extra ...string) (*Server, *testkit.PKI) {
	t.Helper()
	return redisTLS(t, "yes", extra)
}

func redisTLS(t testing.TB, authClients string, extra []string) (srv *Server, pki *testkit.PKI) {
	t.Helper()
	bin := need(t, "redis-server")
	dir := t.TempDir()
	if !tlsBuilt(t, bin, dir) {
		t.Skip("redis-server was built without TLS support (it rejects --tls-port)")
	}
	pki = testkit.NewPKI(t)
	clientPair, err := tls.X509KeyPair(pki.ClientCertPEM, pki.ClientKeyPEM)
	if err != nil {
		t.Fatalf("test client certificate: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pki.CAPEM)

	srv = startOnFreePort(t, func(port int) *Server {
		args := append([]string{"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--tls-cert-file", pki.ServerCert, "--tls-key-file", pki.ServerKey,
			"--tls-ca-cert-file", pki.CA, "--tls-auth-clients", authClients}, extra...)
		return newServer(t, port, bin, args, func(addr string) error { return tlsPing(addr, roots, clientPair) })
	})
	return srv, pki
}

// tlsBuilt reports whether redis-server knows the TLS settings. With TLS and
// no listener at all, it exits at once saying so; without TLS it exits at
// once rejecting the directive.
func tlsBuilt(t testing.TB, bin, dir string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "--port", "0", "--tls-port", "0",
		"--save", "", "--appendonly", "no", "--dir", dir).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("redis-server TLS probe did not exit: %s", out)
	}
	return !strings.Contains(string(out), "Bad directive")
}

// tlsPing is ping over TLS, presenting the client certificates given.
func tlsPing(addr string, roots *x509.CertPool, certs ...tls.Certificate) error {
	d := &net.Dialer{Timeout: 200 * time.Millisecond}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", Certificates: certs})
	if err != nil {
		return err
	}
	return answersVersion(c)
}
