package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// URLQuery reads the TLS parameters that the Redis and memcached store URLs
// share: tls_ca, tls_cert, tls_key, tls_server_name and
// tls_skip_hostname_verification. Set takes them one by one; Finish loads
// the client certificate and leaves Config ready.
type URLQuery struct {
	Config            *tls.Config
	certFile, keyFile string
	skipHostname      bool
}

// NewURLQuery starts a client configuration of TLS 1.2 or newer.
func NewURLQuery() *URLQuery {
	return &URLQuery{Config: &tls.Config{MinVersion: tls.VersionTLS12}}
}

// Set takes the parameter name=v; known is false for a name it does not
// read, left to the caller.
func (q *URLQuery) Set(name, v string) (known bool, err error) {
	switch name {
	case "tls_ca":
		pem, err := os.ReadFile(v)
		if err != nil {
			return true, fmt.Errorf("query tls_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return true, fmt.Errorf("query tls_ca: no PEM certificate in %s", v)
		}
		q.Config.RootCAs = pool
	case "tls_cert":
		q.certFile = v
	case "tls_key":
		q.keyFile = v
	case "tls_server_name":
		q.Config.ServerName = v
	case "tls_skip_hostname_verification":
		if q.skipHostname, err = strconv.ParseBool(v); err != nil {
			return true, fmt.Errorf("query tls_skip_hostname_verification: %q is not true or false", v)
		}
	default:
		return false, nil
	}
	return true, nil
}

// Finish adds the client certificate (both files or neither) and, with
// tls_skip_hostname_verification, verifies the chain alone.
func (q *URLQuery) Finish() error {
	switch {
	case q.certFile == "" && q.keyFile == "":
	case q.certFile == "" || q.keyFile == "":
		return errors.New("query tls_cert and tls_key: give both, or neither")
	default:
		pair, err := tls.LoadX509KeyPair(q.certFile, q.keyFile)
		if err != nil {
			return fmt.Errorf("query tls_cert, tls_key: %w", err)
		}
		q.Config.Certificates = append(q.Config.Certificates, pair)
	}
	if q.skipHostname {
		VerifyChainOnly(q.Config)
	}
	return nil
}
