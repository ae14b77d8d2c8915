package controlplane

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds"
)

type adminStep struct {
	name     string
	method   string
	path     string
	token    string
	body     string
	header   []string
	wantCode int
	wantBody string // substring
	wantETag string
}

func runAdminSteps(t *testing.T, h http.Handler, steps []adminStep) {
	t.Helper()
	ts := httptest.NewServer(h)
	defer ts.Close()
	for _, st := range steps {
		code, body, hdr := do(t, nil, st.method, ts.URL+st.path, st.token, st.body, st.header...)
		if code != st.wantCode || !strings.Contains(body, st.wantBody) {
			t.Fatalf("%s: %s %s = %d %s\nwant %d containing %q", st.name, st.method, st.path, code, body, st.wantCode, st.wantBody)
		}
		if st.wantETag != "" && hdr.Get("ETag") != st.wantETag {
			t.Fatalf("%s: ETag %q, want %q", st.name, hdr.Get("ETag"), st.wantETag)
		}
	}
}

func TestAdminAPI(t *testing.T) {
	srv, err := NewServer(context.Background(), ServerOptions{AdminToken: "s3cret", Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	web2 := strings.Replace(webPolicy, "100", "200", 1)
	runAdminSteps(t, srv.Handler(), []adminStep{
		{name: "no token", method: "PUT", path: "/v1/policies/api", body: apiPolicy, wantCode: 401, wantBody: "bearer token"},
		{name: "wrong token", method: "PUT", path: "/v1/policies/api", token: "nope", body: apiPolicy, wantCode: 401},
		{name: "create", method: "PUT", path: "/v1/policies/api", token: "s3cret", body: apiPolicy, wantCode: 201, wantETag: `"1"`},
		{name: "read open", method: "GET", path: "/v1/policies/api", wantCode: 200, wantBody: "requests_per_unit: 5", wantETag: `"1"`},
		{name: "read JSON", method: "GET", path: "/v1/policies/api", header: []string{"Accept", "application/json"}, wantCode: 200, wantBody: `"source": "admin"`},
		{name: "invalid YAML", method: "PUT", path: "/v1/policies/web", token: "s3cret",
			body: "domain: web\ndescriptors:\n  - key: k\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n", wantCode: 400, wantBody: "admin:web:4"},
		{name: "domain differs from URL", method: "PUT", path: "/v1/policies/web", token: "s3cret", body: apiPolicy, wantCode: 400, wantBody: "the body defines domain"},
		{name: "JSON body", method: "PUT", path: "/v1/policies/web", token: "s3cret",
			body: `{"domain": "web", "descriptors": [{"key": "remote_address", "rate_limit": {"unit": "second", "requests_per_unit": 100}}]}`, wantCode: 201, wantETag: `"2"`},
		{name: "replace without If-Match", method: "PUT", path: "/v1/policies/web", token: "s3cret", body: web2, wantCode: 409, wantBody: `If-Match: \"2\"`},
		{name: "replace with a stale ETag", method: "PUT", path: "/v1/policies/web", token: "s3cret", body: web2, header: []string{"If-Match", `"1"`}, wantCode: 412, wantETag: `"2"`},
		{name: "create-only on an existing domain", method: "PUT", path: "/v1/policies/web", token: "s3cret", body: web2, header: []string{"If-None-Match", "*"}, wantCode: 412},
		{name: "replace", method: "PUT", path: "/v1/policies/web", token: "s3cret", body: web2, header: []string{"If-Match", `"2"`}, wantCode: 200, wantETag: `"3"`},
		{name: "list", method: "GET", path: "/v1/policies", wantCode: 200, wantBody: `"revision": 3`},
		{name: "delete needs the token", method: "DELETE", path: "/v1/policies/web", wantCode: 401},
		{name: "delete with a stale ETag", method: "DELETE", path: "/v1/policies/web", token: "s3cret", header: []string{"If-Match", `"2"`}, wantCode: 412},
		{name: "delete", method: "DELETE", path: "/v1/policies/web", token: "s3cret", header: []string{"If-Match", `"3"`}, wantCode: 200},
		{name: "gone", method: "GET", path: "/v1/policies/web", wantCode: 404},
		{name: "delete again", method: "DELETE", path: "/v1/policies/web", token: "s3cret", wantCode: 404},
		{name: "status", method: "GET", path: "/v1/status", wantCode: 200, wantBody: `"revision": 4`},
		{name: "health", method: "GET", path: "/healthz", wantCode: 200},
	})
	if got := domains(mustCompile(t, srv)); strings.Join(got, ",") != "api" {
		t.Errorf("served domains %v", got)
	}
}

func TestAdminAPIWritesDisabledWithoutCredentials(t *testing.T) {
	srv, err := NewServer(context.Background(), ServerOptions{Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	runAdminSteps(t, srv.Handler(), []adminStep{
		{name: "write", method: "PUT", path: "/v1/policies/api", token: "x", body: apiPolicy, wantCode: 403, wantBody: "disabled"},
		{name: "read", method: "GET", path: "/v1/policies", wantCode: 200},
	})
}

// An admin policy replaces a file's domain of the same name; deleting it
// brings the file's version back; a file's domain cannot be deleted through
// the API.
func TestAdminOverridesFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(file, []byte(webPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(context.Background(), ServerOptions{Paths: []string{dir}, AdminToken: "t", Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	web2 := strings.Replace(webPolicy, "100", "200", 1)
	runAdminSteps(t, srv.Handler(), []adminStep{
		{name: "file domain", method: "GET", path: "/v1/policies/web", wantCode: 200, wantBody: "requests_per_unit: 100", wantETag: `"0"`},
		{name: "file domain is not deletable", method: "DELETE", path: "/v1/policies/web", token: "t", wantCode: 409, wantBody: "web.yaml"},
		{name: "override", method: "PUT", path: "/v1/policies/web", token: "t", body: web2, header: []string{"If-Match", `"0"`}, wantCode: 201},
		{name: "overridden", method: "GET", path: "/v1/policies/web", header: []string{"Accept", "application/json"}, wantCode: 200, wantBody: `"overrides": "` + file},
		{name: "admin version served", method: "GET", path: "/v1/policies/web", wantCode: 200, wantBody: "requests_per_unit: 200"},
		{name: "remove override", method: "DELETE", path: "/v1/policies/web", token: "t", wantCode: 200},
		{name: "file version back", method: "GET", path: "/v1/policies/web", wantCode: 200, wantBody: "requests_per_unit: 100"},
	})
}

// mustCompile compiles what the server serves as Policy resources.
func mustCompile(t *testing.T, srv *Server) *policy.Snapshot {
	t.Helper()
	snap, err := srv.Cache().GetSnapshot(AllNodes)
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	b, _ := json.Marshal(srv.Status())
	_ = json.Unmarshal(b, &st)
	if st.Version != snap.GetVersion(xds.PolicyType) {
		t.Fatalf("status version %q, cache %q", st.Version, snap.GetVersion(xds.PolicyType))
	}
	return compileResources(t, snap.GetResources(xds.PolicyType))
}
