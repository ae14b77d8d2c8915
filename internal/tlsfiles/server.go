package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
)

// ClientAuth is what a server asks of its clients when CAFile is set.
type ClientAuth int

const (
	// RequireClientCert makes a client certificate mandatory (mTLS).
	RequireClientCert ClientAuth = iota
	// VerifyClientCertIfGiven verifies a certificate a client offers and
	// lets clients without one in (the admin API, whose reads are open).
	VerifyClientCertIfGiven
)

// ServerOptions configure a listener's TLS beyond the files.
type ServerOptions struct {
	Options
	// ClientAuth applies when CAFile is set.
	ClientAuth ClientAuth
}

// nextProtos are offered to every client: gRPC needs h2, HTTP listeners
// serve both. A config from GetConfigForClient replaces the listener's
// whole config, so it must carry them itself.
var nextProtos = []string{"h2", "http/1.1"}

// ServerConfig builds the configuration of a listener. Each handshake gets
// the certificate and client CA pool in force.
func (f Files) ServerConfig(o ServerOptions) (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("tls: a server needs a certificate and a key")
	}
	if f.ClientSAN != "" && f.CAFile == "" {
		return nil, fmt.Errorf("tls: client SAN %q needs a client CA to verify certificates against", f.ClientSAN)
	}
	files, err := f.watch(o.Options)
	if err != nil {
		return nil, err
	}
	auth := tls.RequireAndVerifyClientCert
	if o.ClientAuth == VerifyClientCertIfGiven {
		auth = tls.VerifyClientCertIfGiven
	}
	perHandshake := func() *tls.Config {
		m := files.Current()
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*m.cert}, NextProtos: slices.Clone(nextProtos)}
		if m.pool != nil {
			cfg.ClientCAs, cfg.ClientAuth = m.pool, auth
			if f.ClientSAN != "" {
				cfg.VerifyConnection = requireSAN(f.ClientSAN)
			}
		}
		return cfg
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: slices.Clone(nextProtos),
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return perHandshake(), nil
		},
	}, nil
}

// requireSAN refuses a client certificate that does not name san.
func requireSAN(san string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return nil // no certificate offered: ClientAuth decides
		}
		if err := cs.PeerCertificates[0].VerifyHostname(san); err != nil {
			return fmt.Errorf("tls: client certificate does not carry the SAN %q", san)
		}
		return nil
	}
}

// verifyChain verifies a peer's chain against pool for usage, and its leaf
// for name when name is not empty.
func verifyChain(certs []*x509.Certificate, pool *x509.CertPool, name string, usage x509.ExtKeyUsage) error {
	if len(certs) == 0 {
		return errors.New("tls: the peer sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}
