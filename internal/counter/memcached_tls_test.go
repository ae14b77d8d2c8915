package counter

import (
	"context"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

// memcacheds:// counts over TLS when it trusts the server's CA, and fails
// when it does not; tls_skip_hostname_verification still checks the chain.
func TestMemcachedTLS(t *testing.T) {
	srv, pki := testserver.MemcachedTLS(t)
	base := "memcacheds://" + srv.Addr + "?"
	for _, tt := range []struct {
		query string
		ok    bool
	}{
		{"tls_ca=" + pki.CA, true},
		{"tls_ca=" + pki.CA + "&tls_server_name=elsewhere", false},
		{"tls_ca=" + pki.CA + "&tls_server_name=elsewhere&tls_skip_hostname_verification=true", true},
		{"tls_skip_hostname_verification=true", false}, // the test CA is not in the system pool
	} {
		t.Run(tt.query, func(t *testing.T) {
			ms, err := ParseMemcached(base + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			m, err := OpenMemcached(ms, testPrefix(t))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			counts := make([]uint64, 1)
			err = m.Add(ctx, []Increment{{Key: "k", Hits: 2, Expiry: time.Minute}}, counts)
			if (err == nil) != tt.ok || (tt.ok && counts[0] != 2) {
				t.Fatalf("Add over TLS: %d, %v; want success %v", counts[0], err, tt.ok)
			}
		})
	}
}
