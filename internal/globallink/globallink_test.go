package globallink

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

type reports map[string]string

func (r reports) MemberReports(context.Context, string) (map[string]string, error) {
	if r == nil {
		return nil, errors.New("connection refused")
	}
	return r, nil
}

func report(t *testing.T, e Engine) (string, string) {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return e.Field(), string(b)
}

// Each datacenter's link is judged from its engines' reports: in contact,
// cut off as an engine still in contact with its Redis says, or silent.
func TestReadJudgesEachDatacenter(t *testing.T) {
	now := time.Now()
	fresh, old := now.Add(-500*time.Millisecond), now.Add(-10*time.Second)
	lease := func(key string, rate float64) Lease { return Lease{Key: key, Limit: 100, Held: 10, Rate: rate} }
	engines := []Engine{
		{ID: "e1", ReportedAt: fresh, Link: Link{Datacenter: "eu", Up: true, Leases: []Lease{lease("k1", 5), lease("k2", 9)}}},
		{ID: "e2", ReportedAt: fresh.Add(time.Millisecond), Link: Link{Datacenter: "eu", Up: true, Leases: []Lease{lease("k1", 7)}}},
		{ID: "e1", ReportedAt: fresh, Link: Link{Datacenter: "us", Up: false, Error: "i/o timeout"}},
		{ID: "e1", ReportedAt: old, Link: Link{Datacenter: "ap", Up: true}},
		// An engine that left long ago does not make its datacenter's link.
		{ID: "gone", ReportedAt: old, Link: Link{Datacenter: "eu", Up: false, Error: "old"}},
	}
	r := reports{"junk": "{"}
	for _, e := range engines {
		k, v := report(t, e)
		r[k] = v
	}
	dcs, err := Read(context.Background(), r, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ap": LinkStale, "eu": LinkUp, "us": LinkCutOff}
	if len(dcs) != 3 {
		t.Fatalf("datacenters: %+v", dcs)
	}
	for _, d := range dcs {
		if d.Link != want[d.Datacenter] {
			t.Errorf("%s: link %q, want %q (%s)", d.Datacenter, d.Link, want[d.Datacenter], d.Error)
		}
	}
	eu, us, ap := dcs[1], dcs[2], dcs[0]
	if len(eu.Engines) != 3 || len(eu.Leases) != 2 || eu.Leases[0].Key != "k2" || eu.Leases[1].Rate != 7 {
		t.Errorf("eu: engines %d, leases %+v (want k2, then k1 from the newest report)", len(eu.Engines), eu.Leases)
	}
	if !strings.Contains(us.Error, "i/o timeout") {
		t.Errorf("us error: %q", us.Error)
	}
	if ap.ReportAge < 9 || !strings.Contains(ap.Error, "no report") {
		t.Errorf("ap: age %v, error %q", ap.ReportAge, ap.Error)
	}
	if _, err := Read(context.Background(), reports(nil), now, 0); err == nil {
		t.Error("a global tier that does not answer gave no error")
	}
}
