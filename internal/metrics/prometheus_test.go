package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"

	gostats "github.com/lyft/gostats"
)

func TestPrometheusSinkServesFlushedStats(t *testing.T) {
	sink := NewPrometheusSink()
	store := gostats.NewStore(sink, false)
	hits := store.Scope("ratelimit.service.rate_limit").Scope("api.path_/v1").NewCounter("total_hits")
	hits.Add(3)
	store.NewGauge("engine.connected").Set(1)
	store.Flush()
	hits.Add(2) // flushed by the scrape itself

	rec := httptest.NewRecorder()
	sink.Handler(store.Flush).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		"ratelimit_service_rate_limit_api_path__v1_total_hits 5\n",
		"# TYPE engine_connected gauge\nengine_connected 1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q; got:\n%s", want, body)
		}
	}
}

func TestPromName(t *testing.T) {
	for in, want := range map[string]string{
		"a.b-c":      "a_b_c",
		"9lives":     "_9lives",
		"ok_name:x1": "ok_name:x1",
		"k=v.ü":      "k_v__",
	} {
		if got := promName(in); got != want {
			t.Errorf("promName(%q) = %q, want %q", in, got, want)
		}
	}
}
