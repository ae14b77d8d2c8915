package serving

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// The debug listener lists its endpoints, prints expvar's variables and
// the stats on /stats, serves pprof, and stops on Close.
func TestDebugServer(t *testing.T) {
	d, err := StartDebug("127.0.0.1:0", func(w io.Writer) { fmt.Fprintln(w, "ratelimit.service.config_load_success: 1") })
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + d.Addr().String()
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "/stats: print out stats\n") {
		t.Errorf("/: %d %q", code, body)
	}
	code, body := get(t, base+"/stats")
	for _, want := range []string{"cmdline: [", "memstats: {", "\nratelimit.service.config_load_success: 1\n"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/stats: %d, lacks %q", code, want)
		}
	}
	if code, body := get(t, base+"/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("/debug/pprof/goroutine: %d %.80q", code, body)
	}
	d.Handle("/rlconfig", "print out the currently loaded configuration for debugging",
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "api.path: unit=SECOND requests_per_unit=2\n")
		}))
	if code, body := get(t, base+"/rlconfig"); code != 200 || body != "api.path: unit=SECOND requests_per_unit=2\n" {
		t.Errorf("/rlconfig: %d %q", code, body)
	}
	if _, body := get(t, base+"/"); !strings.HasSuffix(body, "/rlconfig: print out the currently loaded configuration for debugging\n") {
		t.Errorf("/ does not list an added endpoint: %q", body)
	}
	if code, _ := get(t, base+"/nothing"); code != 404 {
		t.Errorf("/nothing: %d, want 404", code)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/stats"); err == nil {
		t.Error("the debug listener still answers after Close")
	}
}
