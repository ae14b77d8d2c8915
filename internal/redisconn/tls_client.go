package redisconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// loadClientCert adds the client certificate Redis asks for when it runs
// with tls-auth-clients (mutual TLS). Both files or neither.
func loadClientCert(conf *tls.Config, certFile, keyFile string) error {
	switch {
	case certFile == "" && keyFile == "":
		return nil
	case certFile == "" || keyFile == "":
		return errors.New("query tls_cert and tls_key: give both, or neither")
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("query tls_cert, tls_key: %w", err)
	}
	conf.Certificates = append(conf.Certificates, pair)
	return nil
}

// verifyChainOnly verifies the server's certificate chain against the
// configured CAs (the system's without tls_ca) but not the name in it, as
// envoyproxy/ratelimit's REDIS_TLS_SKIP_HOSTNAME_VERIFICATION does: for a
// Redis reached by an address its certificate does not name (an IP, a
// Sentinel-announced host). tls_insecure, which verifies nothing, wins.
func verifyChainOnly(conf *tls.Config) {
	if conf.InsecureSkipVerify {
		return
	}
	conf.InsecureSkipVerify = true // the standard check includes the name
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("redis TLS: the server sent no certificate")
		}
		opts := x509.VerifyOptions{Roots: conf.RootCAs, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
			return fmt.Errorf("redis TLS (hostname not verified): %w", err)
		}
		return nil
	}
}
