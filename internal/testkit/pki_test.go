package testkit

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
)

func TestPKIIssuesCertificatesTheCAVerifies(t *testing.T) {
	p := NewPKI(t)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(p.CAPEM) {
		t.Fatal("CA is not PEM")
	}
	cases := []struct {
		name      string
		cert, key string
		usage     x509.ExtKeyUsage
	}{
		{"server", p.ServerCert, p.ServerKey, x509.ExtKeyUsageServerAuth},
		{"client", p.ClientCert, p.ClientKey, x509.ExtKeyUsageClientAuth},
	}
	for _, c := range cases {
		pair, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			t.Fatalf("%s: certificate and key files: %v", c.name, err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, host := range []string{"127.0.0.1", "localhost"} {
			_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{c.usage}})
			if err != nil {
				t.Errorf("%s certificate for %s: %v", c.name, host, err)
			}
		}
	}
	// The files hold the same bytes as the PEM fields.
	for file, want := range map[string][]byte{p.CA: p.CAPEM, p.ServerCert: p.ServerCertPEM, p.ServerKey: p.ServerKeyPEM,
		p.ClientCert: p.ClientCertPEM, p.ClientKey: p.ClientKeyPEM} {
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its PEM field", file)
		}
		if b, _ := pem.Decode(got); b == nil {
			t.Errorf("%s is not PEM", file)
		}
	}
}
