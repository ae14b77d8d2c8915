package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

func TestStateHasTheSectionsOfItsSources(t *testing.T) {
	h := New(Options{Title: "test", Sources: Sources{
		Domains:   func() []Domain { return []Domain{{Name: "api", Version: `"2"`, Source: "admin"}} },
		Throttles: func() []Throttle { return []Throttle{{Domain: "api", Key: "api_k", Engine: "e1"}} },
	}})
	st := h.State()
	if strings.Join(st.Sections, ",") != "domains,throttles" || st.Editable {
		t.Fatalf("sections %v, editable %v: want domains,throttles, read-only", st.Sections, st.Editable)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, path := range []string{"/ui/", "/ui/app.js", "/ui/style.css", "/ui/state"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	resp, err := http.Get(srv.URL + "/ui/policy/api")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /ui/policy/api with no policy source: %d, want 404", resp.StatusCode)
	}
}

// The live stream sends states until its Context ends, so that a
// graceful stop of the HTTP server is not held by an open page.
func TestEventsEndWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := New(Options{Context: ctx, Interval: 10 * time.Millisecond,
		Sources: Sources{Version: func() string { return "v7" }}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	first := testkit.Receive(t, "the first event", lines)
	var st State
	if err := json.Unmarshal([]byte(strings.TrimPrefix(first, "data: ")), &st); err != nil || st.Version != "v7" {
		t.Fatalf("first event %q: %v", first, err)
	}
	cancel()
	testkit.Eventually(t, "the stream to end", func() bool {
		select {
		case _, open := <-lines:
			return !open
		default:
			return false
		}
	})
}
