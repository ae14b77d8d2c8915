package redisconn

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

func TestNewTLS(t *testing.T) {
	srv, caPEM := testserver.RedisTLS(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	base := "rediss://" + srv.Addr + "?dial_timeout=1s&"
	tests := []struct {
		query   string
		wantErr string // "" when PING must succeed
	}{
		{"tls_ca=" + ca, ""},
		{"tls_ca=" + ca + "&tls_server_name=localhost", ""},
		{"tls_insecure=true", ""},
		{"tls_ca=" + ca + "&tls_server_name=redis.elsewhere", "certificate"},
		{"", "certificate"}, // the test CA is not in the system pool
		// The chain is still verified when the name is not.
		{"tls_ca=" + ca + "&tls_server_name=redis.elsewhere&tls_skip_hostname_verification=true", ""},
		{"tls_skip_hostname_verification=true", "hostname not verified"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			c, err := New(base + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = c.Ping(ctx).Err()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("PING: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("PING error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewPlainRefusesTLSPort(t *testing.T) {
	srv, _ := testserver.RedisTLS(t)
	c, err := New("redis://" + srv.Addr + "?dial_timeout=1s&read_timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("plain-text PING to a TLS port succeeded")
	}
}

// A Redis that requires client certificates admits a URL with tls_cert and
// tls_key, and refuses one without.
func TestNewMutualTLS(t *testing.T) {
	srv, pki := testserver.RedisMutualTLS(t)
	base := "rediss://" + srv.Addr + "?dial_timeout=1s&tls_ca=" + pki.CA
	for _, tt := range []struct {
		name, query string
		ok          bool
	}{
		{"with client certificate", "&tls_cert=" + pki.ClientCert + "&tls_key=" + pki.ClientKey, true},
		{"without", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(base + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.Ping(ctx).Err(); (err == nil) != tt.ok {
				t.Fatalf("PING: %v, want success %v", err, tt.ok)
			}
		})
	}
}
