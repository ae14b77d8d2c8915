package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// VerifyChainOnly makes conf verify the server's certificate chain against
// conf.RootCAs (the system pool when nil) but not the name in it, as
// envoyproxy/ratelimit's REDIS_TLS_SKIP_HOSTNAME_VERIFICATION and
// MEMCACHE_TLS_SKIP_HOSTNAME_VERIFICATION do: for a server reached by an
// address its certificate does not name. A conf that already verifies
// nothing (InsecureSkipVerify) is left so.
func VerifyChainOnly(conf *tls.Config) {
	if conf.InsecureSkipVerify {
		return
	}
	conf.InsecureSkipVerify = true // the standard check includes the name
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: the server sent no certificate")
		}
		opts := x509.VerifyOptions{Roots: conf.RootCAs, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
			return fmt.Errorf("tls (hostname not verified): %w", err)
		}
		return nil
	}
}
