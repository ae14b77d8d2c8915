package controlplane

import (
	"net/http"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/tlsfiles"
	"github.com/floodgate/floodgate/xds/client"
)

func TestMutualTLS(t *testing.T) {
	pki := testkit.NewPKI(t)
	cp := startControlPlane(t, ServerOptions{
		AdminToken: "t",
		TLS:        tlsfiles.Files{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CA},
		Logger:     testkit.Quiet,
	})
	put(t, cp, "api", apiPolicy)

	tests := []struct {
		name  string
		tls   tlsfiles.Files
		works bool
	}{
		{"client certificate", tlsfiles.Files{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, true},
		{"no client certificate", tlsfiles.Files{CAFile: pki.CA}, false},
		{"server not trusted", tlsfiles.Files{CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, false},
		{"plaintext", tlsfiles.Files{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startClient(t, client.Options{Addrs: []string{cp.grpcAddr}, NodeID: tt.name, TLS: tt.tls})
			if tt.works {
				testkit.Receive(t, "the first version applied", w.Ready())
				if w.domains() != "api" {
					t.Fatalf("domains %q", w.domains())
				}
				return
			}
			testkit.Eventually(t, "failed attempts", func() bool { return w.stats.NewCounter("xds.client.connect.failed").Value() >= 2 })
			if w.applies.Load() != 0 {
				t.Fatal("applied policies over a rejected connection")
			}
		})
	}
}

// Over HTTPS with a client CA, a verified client certificate authorizes
// writes without a token; reads stay open.
func TestAdminClientCertificate(t *testing.T) {
	pki := testkit.NewPKI(t)
	cp := startControlPlane(t, ServerOptions{
		AdminTLS: tlsfiles.Files{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CAFile: pki.CA},
		Logger:   testkit.Quiet,
	})
	roots, err := tlsfiles.Files{CAFile: pki.CA, ServerName: "localhost"}.ClientConfig(tlsfiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: roots}}
	withCert, err := tlsfiles.Files{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey, ServerName: "localhost"}.ClientConfig(tlsfiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := &http.Client{Transport: &http.Transport{TLSClientConfig: withCert}}

	if code, body, _ := do(t, anon, "PUT", cp.httpURL+"/v1/policies/api", "", apiPolicy); code != 401 {
		t.Fatalf("write without a certificate: %d %s", code, body)
	}
	if code, body, _ := do(t, admin, "PUT", cp.httpURL+"/v1/policies/api", "", apiPolicy); code != 201 {
		t.Fatalf("write with a certificate: %d %s", code, body)
	}
	if code, body, _ := do(t, anon, "GET", cp.httpURL+"/v1/policies/api", "", ""); code != 200 {
		t.Fatalf("read without a certificate: %d %s", code, body)
	}
	// The audit log names the certificate's subject.
	if es := auditEntries(t, anon, cp, ""); len(es) != 1 || !strings.HasPrefix(es[0].Who, "cert:") || !strings.Contains(es[0].Who, "CN=") {
		t.Fatalf("audit of a write by certificate: %+v", es)
	}
}
