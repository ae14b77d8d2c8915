package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// The client reaches an RLS that requires mTLS with --ca, --cert and
// --key; without a certificate, or without TLS, it is refused.
func TestClientOverMutualTLS(t *testing.T) {
	pki := testkit.NewPKI(t)
	srvCert, srvKey := pki.Issue(t, "rls", x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := pki.Issue(t, "operator", x509.ExtKeyUsageClientAuth)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--log-level", "warn",
			"--tls-cert", srvCert, "--tls-key", srvKey, "--tls-client-ca", pki.CA})
	}()
	defer func() {
		cancel()
		waitExits(t, done, 1)
	}()
	waitHTTP(t, "http://"+httpAddr+"/healthcheck")

	ask := []string{"--addr", grpcAddr, "--domain", "api", "--descriptor", "remote_address=10.0.0.9", "--timeout", "2s"}
	var out bytes.Buffer
	if err := clientTo(ctx, append(ask, "--ca", pki.CA, "--cert", cliCert, "--key", cliKey), &out); err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	if !strings.Contains(out.String(), "overall: OK") {
		t.Fatalf("client with a certificate:\n%s", out.String())
	}
	if err := clientTo(ctx, append(ask, "--ca", pki.CA), &out); err == nil {
		t.Fatal("a client without a certificate was answered")
	}
	if err := clientTo(ctx, ask, &out); err == nil {
		t.Fatal("a plaintext client was answered")
	}
	if err := clientTo(ctx, append(ask, "--cert", cliCert, "--key", cliKey), &out); err == nil || !strings.Contains(err.Error(), "--ca") {
		t.Fatalf("--cert without --ca: %v, want an error naming --ca", err)
	}
}
