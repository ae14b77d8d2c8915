// Package globallink is the fleet's view of the datacenters' links to the
// global tier: each engine with a global tier reports its link and its
// busiest global leases into the global Redis once a second (Report), and
// a control plane reads every report back (Read) to show which
// datacenters are in contact, cut off or silent. A datacenter cut off
// cannot write: its last report stays, and its age says so.
package globallink

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// MembersSet is the global tier's sorted set of the datacenters that
// talked to it lately; the engines' reports are kept beside it.
const MembersSet = "floodgate:datacenters"

// Defaults of the reports: what an engine lists, how long a report not
// written again is kept, and how old a datacenter's newest may be before
// it reads as stale (engines report once a second).
const (
	MaxReportLeases   = 10
	ReportKeep        = 5 * time.Minute
	DefaultStaleAfter = 3 * time.Second
)

// The states of a datacenter's link.
const (
	LinkUp     = "up"
	LinkCutOff = "cut off"
	LinkStale  = "stale"
)

// Link is a datacenter's link to the global tier as one engine sees it,
// and the global leases it follows (the busiest first).
type Link struct {
	Datacenter  string    `json:"datacenter"`
	Up          bool      `json:"up"`
	Since       time.Time `json:"since"`
	LastContact time.Time `json:"last_contact,omitzero"`
	Error       string    `json:"error,omitempty"`
	// Datacenters is how many the engine counted in the global tier.
	Datacenters int     `json:"datacenters"`
	Keys        int     `json:"keys"`
	Leases      []Lease `json:"leases"`
}

// Engine is one engine's report of its datacenter's link to the global
// tier.
type Engine struct {
	ID string `json:"id"`
	Link
	ReportedAt time.Time `json:"reported_at"`
}

// Lease is a datacenter's holding of one global key's window (the
// engine's decisions.GlobalLease).
type Lease struct {
	Key      string  `json:"key"`
	Limit    uint64  `json:"limit"`
	Held     uint64  `json:"held"`
	Extra    uint64  `json:"extra"`
	Used     uint64  `json:"used"`
	Others   uint64  `json:"others"`
	Fallback bool    `json:"fallback"`
	Rate     float64 `json:"rate"`
}

// Field names an engine's report among the global tier's.
func (e Engine) Field() string { return e.Datacenter + "/" + e.ID }

// Datacenter is one datacenter's link as its engines last reported it.
type Datacenter struct {
	Datacenter string `json:"datacenter"`
	// Link is LinkUp while every engine that reported lately is in
	// contact, LinkCutOff when one of them is not (Error says why), and
	// LinkStale when none reported within the stale age: cut off from the
	// global tier, or down.
	Link  string `json:"link"`
	Error string `json:"error,omitempty"`
	// ReportedAt is the newest report's time, ReportAge its age when read.
	ReportedAt time.Time `json:"reported_at"`
	ReportAge  float64   `json:"report_age_seconds"`
	Engines    []Engine  `json:"engines"`
	// Leases are the datacenter's busiest global leases, each from the
	// newest report listing it.
	Leases []Lease `json:"leases"`
}

// Reports is where the engines' reports are read from: the global tier's
// Redis (counter.Redis.MemberReports).
type Reports interface {
	MemberReports(ctx context.Context, set string) (map[string]string, error)
}

// Read returns every datacenter that reported, by name, judged at now: a
// datacenter whose newest report is older than staleAfter
// (DefaultStaleAfter when zero) is stale. A report that does not parse is
// left out.
func Read(ctx context.Context, from Reports, now time.Time, staleAfter time.Duration) ([]Datacenter, error) {
	raw, err := from.MemberReports(ctx, MembersSet)
	if err != nil {
		return nil, fmt.Errorf("global tier reports: %w", err)
	}
	var engines []Engine
	for _, v := range raw {
		var e Engine
		if json.Unmarshal([]byte(v), &e) == nil && e.Datacenter != "" {
			engines = append(engines, e)
		}
	}
	return Judge(engines, now, staleAfter), nil
}

// Judge groups engines' reports by datacenter and judges each link at now.
func Judge(engines []Engine, now time.Time, staleAfter time.Duration) []Datacenter {
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	by := map[string]*Datacenter{}
	for _, e := range engines {
		d := by[e.Datacenter]
		if d == nil {
			d = &Datacenter{Datacenter: e.Datacenter}
			by[e.Datacenter] = d
		}
		d.Engines = append(d.Engines, e)
		if e.ReportedAt.After(d.ReportedAt) {
			d.ReportedAt = e.ReportedAt
		}
	}
	out := make([]Datacenter, 0, len(by))
	for _, d := range by {
		judge(d, now, staleAfter)
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Datacenter < out[j].Datacenter })
	return out
}

func judge(d *Datacenter, now time.Time, staleAfter time.Duration) {
	sort.Slice(d.Engines, func(i, j int) bool { return d.Engines[i].ID < d.Engines[j].ID })
	age := now.Sub(d.ReportedAt)
	d.ReportAge = max(0, age.Seconds())
	d.Link = LinkUp
	if age > staleAfter {
		d.Link = LinkStale
		d.Error = fmt.Sprintf("no report for %s: cut off from the global tier, or down", age.Round(100*time.Millisecond))
	} else {
		var errs []string
		for _, e := range d.Engines {
			if now.Sub(e.ReportedAt) <= staleAfter && !e.Up {
				d.Link = LinkCutOff
				errs = append(errs, e.ID+": "+e.Error)
			}
		}
		d.Error = strings.Join(errs, "; ")
	}
	// The engines of a datacenter share its holdings: a key's newest
	// report is the datacenter's.
	newest := map[string]int{}
	var leases []Lease
	at := map[string]time.Time{}
	for _, e := range d.Engines {
		for _, l := range e.Leases {
			i, ok := newest[l.Key]
			switch {
			case !ok:
				newest[l.Key] = len(leases)
				leases = append(leases, l)
				at[l.Key] = e.ReportedAt
			case e.ReportedAt.After(at[l.Key]):
				leases[i], at[l.Key] = l, e.ReportedAt
			}
		}
	}
	sort.Slice(leases, func(i, j int) bool {
		if leases[i].Rate != leases[j].Rate {
			return leases[i].Rate > leases[j].Rate
		}
		return leases[i].Key < leases[j].Key
	})
	d.Leases = leases[:min(len(leases), MaxReportLeases)]
	if d.Leases == nil {
		d.Leases = []Lease{}
	}
}
