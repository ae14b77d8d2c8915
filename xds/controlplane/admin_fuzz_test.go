package controlplane

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

// FuzzAdminPut sends the admin API any policy body for any domain name: it
// is stored or refused with a 4xx naming why, never a 5xx (the in-memory
// store cannot fail), never a panic; what it stored reads back as a policy of the domain.
func FuzzAdminPut(f *testing.F) {
	f.Add("api", apiPolicy)
	f.Add("web", `{"domain":"web","descriptors":[{"key":"k","rate_limit":{"unit":"second","requests_per_unit":1}}]}`)
	f.Add("api", "domain: api\ndescriptors:\n  - key: k\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n")
	f.Add("a/b", "domain: a/b\n")
	f.Add("api", "domain: api\ndescriptors: &a [*a]\n")
	f.Fuzz(func(t *testing.T, domain, body string) {
		srv, err := NewServer(context.Background(), ServerOptions{AdminToken: "t", Logger: testkit.Quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		h := srv.Handler()
		path := "/v1/policies/" + url.PathEscape(domain)
		put := httptest.NewRequest(http.MethodPut, path, strings.NewReader(body))
		put.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, put)
		if rec.Code >= 500 {
			t.Fatalf("PUT %s: %d %s", path, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusCreated {
			return
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s after a 201: %d %s", path, rec.Code, rec.Body)
		}
		if cfg, err := policy.Parse("read back", rec.Body.Bytes()); err != nil || cfg.Domain != domain {
			t.Fatalf("GET %s after a 201 reads back what does not parse to the domain: %v\n%s", path, err, rec.Body)
		}
	})
}
