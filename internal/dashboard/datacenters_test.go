package dashboard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A Datacenters source adds its section, and /ui/state carries each
// datacenter's link, engines and leases.
func TestStateShowsDatacenters(t *testing.T) {
	h := New(Options{Sources: Sources{Datacenters: func() []Datacenter {
		return []Datacenter{{Name: "eu", Link: "cut off", Error: "e1: i/o timeout", Engines: []DatacenterEngine{{ID: "e1"}},
			Leases: []GlobalLease{{Key: "k", Limit: 100, Held: 40, Used: 30, Fallback: true}}}}
	}}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ui/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Sections) != 1 || st.Sections[0] != "datacenters" || len(st.Datacenters) != 1 {
		t.Fatalf("state: %+v", st)
	}
	d := st.Datacenters[0]
	if d.Name != "eu" || d.Link != "cut off" || d.Error == "" || len(d.Engines) != 1 || len(d.Leases) != 1 || !d.Leases[0].Fallback || d.Leases[0].Held != 40 {
		t.Errorf("datacenter: %+v", d)
	}
}
