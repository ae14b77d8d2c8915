package testserver

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

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
		args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "16", "-Z",
			"-o", "ssl_chain_cert=" + pki.ServerCert + ",ssl_key=" + pki.ServerKey}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root")
		}
		return newServer(t, port, need(t, "memcached"), args, func(addr string) error {
			d := &net.Dialer{Timeout: 200 * time.Millisecond}
			c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
			if err != nil {
				return err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := c.Write([]byte("version\r\n")); err != nil {
				return err
			}
			_, err = bufio.NewReader(c).ReadString('\n')
			return err
		})
	})
	return srv, pki
}
