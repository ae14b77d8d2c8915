package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/dashboard"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
)

// serveDashboard mounts the all-in-one process's read-only dashboard at
// /ui/, with GET /v1/throttles (async mode) and GET /v1/domain-counts: the
// in-process engine, replica and bus are at hand. stop ends the board's
// subscription and waits for it.
func serveDashboard(ctx context.Context, srv *serving.Server, svc *ratelimit.Service, r *serveRole, counts *ratelimit.DomainCounts) (stop func()) {
	src := dashboard.Sources{
		Domains: func() []dashboard.Domain { return snapshotDomains(svc.Snapshot()) },
		Policy:  func(domain string) (string, string, bool, error) { return snapshotPolicy(svc.Snapshot(), domain) },
		Counts: func() []dashboard.DomainCount {
			cs := counts.Counts()
			out := make([]dashboard.DomainCount, len(cs))
			for i, c := range cs {
				out[i] = dashboard.DomainCount(c)
			}
			return out
		},
		Components: func() []dashboard.Component { return r.components() },
	}
	if r.engine != nil {
		if _, ok := r.engine.Global(); ok {
			src.Datacenters = func() []dashboard.Datacenter { return engineDatacenter(r.engine) }
		}
	}
	if r.engine != nil || r.rlqs != nil {
		src.Flows = func() []dashboard.Flow { return r.flows() }
	}
	srv.Mux.Handle("GET /v1/domain-counts", counts)
	stop = func() {}
	if r.bus != nil {
		board := &decisions.ThrottleBoard{}
		follow, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); board.Follow(follow, r.bus) }()
		stop = func() { cancel(); <-done }
		srv.Mux.Handle("GET /v1/throttles", board)
		src.Throttles = func() []dashboard.Throttle { return throttles(board) }
	}
	srv.Mux.Handle("/ui/", dashboard.New(dashboard.Options{Title: "serve", Sources: src, Context: ctx}))
	return stop
}

// components are the in-process engine, replica and bus.
func (r *serveRole) components() []dashboard.Component {
	var out []dashboard.Component
	if r.engine != nil {
		c := dashboard.Component{Kind: "engine", Name: r.engine.ID(), Healthy: true, Detail: "in process"}
		if err := r.engine.CounterErr(); err != nil {
			c.Healthy, c.Detail = false, err.Error()
		}
		out = append(out, c)
	}
	rep := dashboard.Component{Kind: "replica", Name: "in process", Healthy: true}
	if r.health != nil {
		ok, detail := r.health()
		rep.Healthy = ok
		if !ok {
			rep.Detail = fmt.Sprint(detail)
		}
	}
	out = append(out, rep)
	if r.bus != nil {
		name := "in memory"
		if _, ok := r.bus.(*decisions.RedisBus); ok {
			name = "redis"
		}
		out = append(out, dashboard.Component{Kind: "bus", Name: name, Healthy: r.bus.Connected()})
	}
	return out
}

func snapshotDomains(s *policy.Snapshot) []dashboard.Domain {
	if s == nil {
		return nil
	}
	var out []dashboard.Domain
	for _, c := range s.Configs() {
		out = append(out, dashboard.Domain{Name: c.Domain, Version: "-", Source: strings.Join(c.Sources(), ", ")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func snapshotPolicy(s *policy.Snapshot, domain string) (yaml, version string, ok bool, err error) {
	if s == nil {
		return "", "", false, nil
	}
	for _, c := range s.Configs() {
		if c.Domain == domain {
			y, err := policy.Marshal(c)
			if err != nil {
				return "", "", false, fmt.Errorf("domain %q: %w", domain, err)
			}
			return string(y), "-", true, nil
		}
	}
	return "", "", false, nil
}

// flows are the in-process engine's lease traffic and the RLQS's.
func (r *serveRole) flows() []dashboard.Flow {
	var out []dashboard.Flow
	if r.engine != nil {
		for _, f := range r.engine.LeaseFlow() {
			out = append(out, dashboard.Flow(f))
		}
	}
	if r.rlqs != nil {
		for _, f := range r.rlqs.Flow() {
			out = append(out, dashboard.Flow(f))
		}
	}
	return out
}
