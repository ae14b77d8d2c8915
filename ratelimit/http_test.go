package ratelimit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/policy"
)

func TestHTTPEndpoints(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	srv := httptest.NewServer(r.svc.HTTPHandler(func() (bool, map[string]any) {
		return true, map[string]any{"engine": "connected"}
	}))
	defer srv.Close()

	post := func(body string) (int, string) {
		resp, err := http.Post(srv.URL+"/json", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	req := `{"domain":"api","descriptors":[{"entries":[{"key":"path","value":"/login"}]}]}`
	for i, want := range []int{200, 200, 429} {
		code, body := post(req)
		if code != want {
			t.Fatalf("/json call %d: %d %s, want %d", i+1, code, body, want)
		}
		if want == 429 && !strings.Contains(body, `"overallCode":"OVER_LIMIT"`) {
			t.Fatalf("429 body lacks the response: %s", body)
		}
	}
	for _, bad := range []string{`{"domain":`, `{"domain":"","descriptors":[{"entries":[{"key":"a","value":"b"}]}]}`, `{"domain":"api"}`} {
		if code, body := post(bad); code != 400 {
			t.Errorf("/json %s: %d %s, want 400", bad, code, body)
		}
	}

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthcheck"); code != 200 || body != "OK\n" {
		t.Errorf("/healthcheck: %d %q", code, body)
	}
	code, body := get("/healthcheck?detail")
	var detail map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &detail) != nil || detail["healthy"] != true {
		t.Errorf("/healthcheck?detail: %d %s", code, body)
	}
	// envoyproxy/ratelimit's format, one line a rule.
	if code, body := get("/rlconfig"); code != 200 || !strings.Contains(body, "\napi.path_/login: unit=SECOND requests_per_unit=2, shadow_mode: false, quota_mode: false\n") {
		t.Errorf("/rlconfig: %d %s", code, body)
	}
	if code, body := get("/rlconfig?format=yaml"); code != 200 || !strings.Contains(body, "domain: api") || !strings.Contains(body, "/login") {
		t.Errorf("/rlconfig?format=yaml: %d %s", code, body)
	}
	if code, _ := get("/rlconfig?format=json"); code != 400 {
		t.Errorf("/rlconfig?format=json: %d, want 400", code)
	}
}

func TestHealthcheckUnhealthy(t *testing.T) {
	svc := NewService(Options{})
	h := svc.HTTPHandler(func() (bool, map[string]any) { return false, map[string]any{"engine": "down"} })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthcheck", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"engine":"down"`) {
		t.Fatalf("unhealthy: %d %s", rec.Code, rec.Body.String())
	}
}

// A /json body over the limit is refused as too large, not as malformed.
func TestJSONBodyTooLarge(t *testing.T) {
	r := startRLS(t, Options{}, testPolicy)
	srv := httptest.NewServer(r.svc.HTTPHandler(nil))
	defer srv.Close()
	body := `{"domain":"api","descriptors":[{"entries":[{"key":"path","value":"` + strings.Repeat("a", maxJSONBody) + `"}]}]}`
	resp, err := http.Post(srv.URL+"/json", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "1048576 bytes") {
		t.Fatalf("/json with a %d-byte body: %d %s, want 413 naming the maximum", len(body), resp.StatusCode, b)
	}
}

// A service with no policies in force answers every request without a
// limit (an RLS whose control plane has sent nothing yet): /healthcheck
// says so, whatever the limiter reports, until policies arrive.
func TestHealthcheckWithoutPolicies(t *testing.T) {
	svc := NewService(Options{})
	srv := httptest.NewServer(svc.HTTPHandler(func() (bool, map[string]any) { return true, map[string]any{"engine": "connected"} }))
	defer srv.Close()
	get := func() (int, string) {
		resp, err := http.Get(srv.URL + "/healthcheck?detail")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusInternalServerError || !strings.Contains(body, "none in force") || !strings.Contains(body, `"engine":"connected"`) {
		t.Fatalf("/healthcheck with no policies: %d %s", code, body)
	}
	snap, err := policy.ParseSnapshot("test.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	svc.SetSnapshot(snap)
	if code, body := get(); code != http.StatusOK || !strings.Contains(body, `"policy_domains":1`) {
		t.Fatalf("/healthcheck with policies: %d %s", code, body)
	}
}
