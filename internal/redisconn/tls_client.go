package redisconn

import (
	"crypto/tls"
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
