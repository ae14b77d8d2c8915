package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a certificate authority made for one test and the server and client
// certificates it issued, both as PEM bytes and as PEM files in the test's
// temporary directory (servers such as redis-server and Floodgate's own TLS
// options take file paths). The server certificate names 127.0.0.1 and
// localhost; everything is valid for an hour around the test.
type PKI struct {
	// Files.
	CA                    string
	ServerCert, ServerKey string
	ClientCert, ClientKey string

	// The same contents as PEM.
	CAPEM                       []byte
	ServerCertPEM, ServerKeyPEM []byte
	ClientCertPEM, ClientKeyPEM []byte

	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	dir   string
}

// NewPKI issues a fresh CA, server and client certificate, and writes them
// to a directory the test removes when it ends.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Floodgate test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("test CA: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("test CA: %v", err)
	}
	p := &PKI{CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), ca: ca, caKey: caKey, dir: t.TempDir()}
	p.ServerCertPEM, p.ServerKeyPEM = p.IssuePEM(t, "server", x509.ExtKeyUsageServerAuth)
	p.ClientCertPEM, p.ClientKeyPEM = p.IssuePEM(t, "client", x509.ExtKeyUsageClientAuth)

	p.CA = p.write(t, "ca.pem", p.CAPEM)
	p.ServerCert, p.ServerKey = p.write(t, "server.pem", p.ServerCertPEM), p.write(t, "server-key.pem", p.ServerKeyPEM)
	p.ClientCert, p.ClientKey = p.write(t, "client.pem", p.ClientCertPEM), p.write(t, "client-key.pem", p.ClientKeyPEM)
	return p
}

// IssuePEM issues one more certificate from the CA, with name as its common
// name and the SANs localhost and 127.0.0.1, for usage.
func (p *PKI) IssuePEM(t testing.TB, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	now := time.Now()
	key := newKey(t)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatalf("test %s certificate: %v", name, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatalf("test %s certificate: %v", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("test %s key: %v", name, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// Issue is IssuePEM written to files named after name.
func (p *PKI) Issue(t testing.TB, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	c, k := p.IssuePEM(t, name, usage)
	return p.write(t, name+".pem", c), p.write(t, name+"-key.pem", k)
}

func (p *PKI) write(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("test PKI: %v", err)
	}
	return path
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("test key: %v", err)
	}
	return k
}
