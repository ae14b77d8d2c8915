package tlsfiles

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc/credentials"

	"github.com/floodgate/floodgate/internal/filereload"
)

// ClientCredentials are the transport credentials of a gRPC client. Each
// handshake presents the certificate in force and verifies the server
// against the CA pool in force (the system pool without CAFile), for
// ServerName or else the host dialed.
func (f Files) ClientCredentials(o Options) (credentials.TransportCredentials, error) {
	files, err := f.clientFiles(o)
	if err != nil {
		return nil, err
	}
	return &clientCreds{TransportCredentials: credentials.NewTLS(f.clientConfig(files.Current())), f: f, files: files}, nil
}

// ClientConfig builds the configuration of a non-gRPC client (HTTPS),
// which verifies the server as ClientCredentials does. Without ServerName
// the name is the one sent in SNI; an IP address is sent in none, so a
// client dialing one needs ServerName.
func (f Files) ClientConfig(o Options) (*tls.Config, error) {
	files, err := f.clientFiles(o)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{ServerName: f.ServerName, MinVersion: tls.VersionTLS12}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if m := files.Current(); m.cert != nil {
			return m.cert, nil
		}
		return &tls.Certificate{}, nil // none configured: send none
	}
	if f.CAFile != "" {
		// The standard verification takes a fixed pool: verify here instead,
		// against the pool in force, with the same checks.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			name := f.ServerName
			if name == "" {
				name = cs.ServerName
			}
			if name == "" {
				return errors.New("tls: no server name to verify the server's certificate for: set ServerName")
			}
			if err := verifyChain(cs.PeerCertificates, files.Current().pool, name, x509.ExtKeyUsageServerAuth); err != nil {
				return fmt.Errorf("tls: server certificate: %w", err)
			}
			return nil
		}
	}
	return cfg, nil
}

func (f Files) clientFiles(o Options) (*filereload.Value[material], error) {
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errHalfPair
	}
	return f.watch(o)
}

// clientConfig is one handshake's configuration, from m.
func (f Files) clientConfig(m material) *tls.Config {
	cfg := &tls.Config{ServerName: f.ServerName, MinVersion: tls.VersionTLS12, RootCAs: m.pool}
	if m.cert != nil {
		cfg.Certificates = []tls.Certificate{*m.cert}
	}
	return cfg
}

// clientCreds build each handshake's TLS from the files in force; the
// embedded credentials answer Info.
type clientCreds struct {
	credentials.TransportCredentials
	f     Files
	files *filereload.Value[material]
}

func (c *clientCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return credentials.NewTLS(c.f.clientConfig(c.files.Current())).ClientHandshake(ctx, authority, raw)
}

func (c *clientCreds) ServerHandshake(net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("tls: client credentials cannot serve")
}

func (c *clientCreds) Clone() credentials.TransportCredentials {
	cp := *c
	return &cp
}
