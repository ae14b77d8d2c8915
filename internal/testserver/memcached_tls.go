package testserver

import (
	"crypto/x509"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
)

// MemcachedTLS starts memcached serving TLS only (-Z), with a server
// certificate for 127.0.0.1 and localhost issued by the test's own CA. It
// returns the server and the PKI (the CA's file in pki.CA).
func MemcachedTLS(t testing.TB) (*Server, *testkit.PKI) {
	t.Helper()
	pki := testkit.NewPKI(t)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pki.CAPEM)
	srv := startOnFreePort(t, func(port int) *Server {
		args := memcachedArgs(port, "-Z", "-o", "ssl_chain_cert="+pki.ServerCert+",ssl_key="+pki.ServerKey)
		return newServer(t, port, need(t, "memcached"), args, func(addr string) error { return tlsPing(addr, roots) })
	})
	return srv, pki
}
