package xds

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles names PEM files for one side of a TLS connection. The zero value
// means plaintext.
type TLSFiles struct {
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
}

// Enabled reports whether any TLS setting is given.
func (f TLSFiles) Enabled() bool { return f != TLSFiles{} }

// ServerConfig builds the configuration of a listener. requireClientCert
// makes a client certificate mandatory when CAFile is set (xDS); otherwise
// one is verified only if offered (the admin API, whose reads are open).
func (f TLSFiles) ServerConfig(requireClientCert bool) (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("tls: a server needs a certificate and a key")
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %s, %s: %w", f.CertFile, f.KeyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pool, err := loadPool(f.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if requireClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return cfg, nil
}

// ClientConfig builds the configuration of a client.
func (f TLSFiles) ClientConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: f.ServerName, MinVersion: tls.VersionTLS12}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("tls: a client certificate needs both a certificate and a key")
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %s, %s: %w", f.CertFile, f.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.CAFile != "" {
		pool, err := loadPool(f.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
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
