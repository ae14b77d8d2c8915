// Package tlsfiles builds the TLS configurations of Floodgate's listeners
// and clients from PEM files, and keeps them current as the files rotate:
// every new handshake takes the certificate, key and CA pool in force
// (checked at most once a second), while connections already up keep the
// ones they were made with. A rotation that leaves a bad file keeps the last
// good pair, logged and counted under tls.reload_failed.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/filereload"
)

// Files names PEM files for one side of a TLS connection. The zero value
// means plaintext.
type Files struct {
	// CertFile and KeyFile are this side's certificate and key: required on
	// a server; on a client, presented for mTLS.
	CertFile, KeyFile string
	// CAFile verifies the peer. On a client: the server's CA (default: the
	// system pool). On a server: the CA of client certificates, which turns
	// on client verification.
	CAFile string
	// ServerName overrides the name a client verifies in the server's
	// certificate.
	ServerName string
	// ClientSAN, when set, is a DNS name every client certificate must
	// carry (GRPC_CLIENT_TLS_SAN of envoyproxy/ratelimit). It needs CAFile.
	ClientSAN string
}

// Enabled reports whether any TLS setting is given.
func (f Files) Enabled() bool { return f != Files{} }

// Options tune how the files are kept current; the zero value works.
type Options struct {
	// Stats receives tls.reloaded and tls.reload_failed; discarded when nil.
	Stats  stats.Scope
	Logger *slog.Logger
	// Every is the least time between two checks of the files. Default 1s.
	Every time.Duration
	// Now is time.Now when nil; tests move it on to see a rotation.
	Now func() time.Time
}

// material is what one load of the files gives.
type material struct {
	cert *tls.Certificate // nil: none configured
	pool *x509.CertPool   // nil: none configured
}

// watch loads the files now and returns what keeps them current.
func (f Files) watch(o Options) (*filereload.Value[material], error) {
	var paths []string
	for _, p := range []string{f.CertFile, f.KeyFile, f.CAFile} {
		if p != "" {
			paths = append(paths, p)
		}
	}
	var scope stats.Scope
	if o.Stats != nil {
		scope = o.Stats.Scope("tls")
	}
	return filereload.New(filereload.Options[material]{
		Paths: paths, Load: f.load, Every: o.Every, Stats: scope, Logger: o.Logger, Now: o.Now,
	})
}

func (f Files) load() (material, error) {
	var m material
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return material{}, fmt.Errorf("tls: %s, %s: %w", f.CertFile, f.KeyFile, err)
		}
		m.cert = &cert
	}
	if f.CAFile != "" {
		pool, err := loadPool(f.CAFile)
		if err != nil {
			return material{}, err
		}
		m.pool = pool
	}
	return m, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls: CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls: CA %s: no PEM certificate", path)
	}
	return pool, nil
}

var errHalfPair = errors.New("tls: a certificate needs both a certificate and a key file")
