package main

import (
	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/dashboard"
	"github.com/floodgate/floodgate/internal/globallink"
)

// dashboardDatacenters are the datacenters /v1/status shows, for the page.
func dashboardDatacenters(dcs []globallink.Datacenter) []dashboard.Datacenter {
	out := make([]dashboard.Datacenter, len(dcs))
	for i, d := range dcs {
		out[i] = dashboard.Datacenter{Name: d.Datacenter, Link: d.Link, Error: d.Error, ReportedAt: d.ReportedAt,
			Engines: make([]dashboard.DatacenterEngine, len(d.Engines)), Leases: d.Leases}
		for j, e := range d.Engines {
			out[i].Engines[j] = dashboard.DatacenterEngine{ID: e.ID, Up: e.Up, Since: e.Since, LastContact: e.LastContact,
				Error: e.Error, ReportedAt: e.ReportedAt}
		}
	}
	return out
}

// engineDatacenter is an in-process engine's own view of its datacenter's
// link, for serve's page; none without a global tier.
func engineDatacenter(e *decisions.Engine) []dashboard.Datacenter {
	s, ok := e.Global()
	if !ok {
		return nil
	}
	link := globallink.LinkUp
	if !s.Up {
		link = globallink.LinkCutOff
	}
	d := dashboard.Datacenter{Name: s.Datacenter, Link: link, Error: s.Error, ReportedAt: s.LastContact,
		Engines: []dashboard.DatacenterEngine{{ID: e.ID(), Up: s.Up, Since: s.Since, LastContact: s.LastContact, Error: s.Error}},
		Leases:  s.Leases[:min(len(s.Leases), globallink.MaxReportLeases)]}
	return []dashboard.Datacenter{d}
}
