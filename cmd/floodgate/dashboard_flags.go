package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/dashboard"
	"github.com/floodgate/floodgate/xds/controlplane"
)

// dashboardFlags configure the control plane's dashboard.
type dashboardFlags struct {
	decisionsRedis urlListFlag
}

func (f *dashboardFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.decisionsRedis, "decisions-redis", "Redis `URL[,URL]` the engines publish decisions to: the dashboard (/ui/) and GET /v1/throttles then show the keys throttled now")
}

// controlPlaneRoutes builds the control plane's /ui/ and, with
// --decisions-redis, GET /v1/throttles. srv is read when a page asks,
// after it is built. The board follows the brokers until ctx is done or
// stop, which waits for it and closes them. With datacenters (the control
// plane reads the global tier) the page shows their links.
func (f *dashboardFlags) controlPlaneRoutes(ctx context.Context, srv func() *controlplane.Server, stats gostats.Scope, datacenters bool) (map[string]http.Handler, func(), error) {
	src := dashboard.Sources{
		Version: func() string { return srv().Version() },
		Domains: func() []dashboard.Domain { return statusDomains(srv().Status()) },
		Nodes:   func() []dashboard.Node { return statusNodes(srv().Status()) },
		Policy:  func(domain string) (string, string, bool, error) { return srv().PolicyYAML(domain) },
		Audit:   func() []dashboard.AdminWrite { return adminWrites(ctx, srv()) },
	}
	if datacenters {
		src.Datacenters = func() []dashboard.Datacenter { return dashboardDatacenters(srv().Status().Datacenters) }
	}
	routes := map[string]http.Handler{}
	stop := func() {}
	var board *decisions.ThrottleBoard
	var bus *decisions.Brokers
	if urls := f.decisionsRedis.urls(); len(urls) > 0 {
		b, err := decisions.OpenBrokers(urls, decisions.RedisBusOptions{Stats: stats, Logger: slog.Default()})
		if err != nil {
			return nil, nil, fmt.Errorf("--decisions-redis: %w", err)
		}
		bus, board = b, &decisions.ThrottleBoard{}
		follow, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); board.Follow(follow, b.Bus) }()
		stop = func() { cancel(); <-done; b.Close() }
		routes["GET /v1/throttles"] = board
		src.Throttles = func() []dashboard.Throttle { return throttles(board) }
	}
	src.Components = func() []dashboard.Component {
		cs := nodeComponents(srv().Status())
		if bus != nil {
			cs = append(cs, dashboard.Component{Kind: "bus", Name: strings.Join(bus.Names, ","), Healthy: bus.Bus.Connected(),
				Detail: "decisions subscription"})
		}
		return cs
	}
	routes["/ui/"] = dashboard.New(dashboard.Options{Title: "control plane", Sources: src, AdminAPI: "/v1/policies/", Context: ctx})
	return routes, stop, nil
}

func statusDomains(st controlplane.Status) []dashboard.Domain {
	out := make([]dashboard.Domain, len(st.Domains))
	for i, d := range st.Domains {
		out[i] = dashboard.Domain{Name: d.Domain, Version: d.ETag, Source: d.Source, Overrides: d.Overrides}
	}
	return out
}

func statusNodes(st controlplane.Status) []dashboard.Node {
	out := make([]dashboard.Node, len(st.Nodes))
	for i, n := range st.Nodes {
		out[i] = dashboard.Node{ID: n.ID, Cluster: n.Cluster, Streams: n.Streams, LastSeen: n.LastSeen}
		for typ, t := range n.Types {
			out[i].Types = append(out[i].Types, dashboard.NodeType{Type: typ, SentVersion: t.SentVersion, AckedVersion: t.AckedVersion,
				Nacked: t.Nacked, Failing: t.Failing, LastError: t.LastError, LastErrorVersion: t.LastErrorVersion, Acks: t.Acks, Nacks: t.Nacks})
		}
		sort.Slice(out[i].Types, func(a, b int) bool { return out[i].Types[a].Type < out[i].Types[b].Type })
	}
	return out
}

// nodeComponents are the control plane's view of engines and replicas:
// the xDS nodes, healthy while connected and running what they were sent.
func nodeComponents(st controlplane.Status) []dashboard.Component {
	out := make([]dashboard.Component, 0, len(st.Nodes))
	for _, n := range st.Nodes {
		c := dashboard.Component{Kind: "xds node", Name: n.ID, Healthy: n.Streams > 0}
		if n.Streams == 0 {
			c.Detail = "no open stream"
		}
		for typ, t := range n.Types {
			if t.Nacked || t.Failing {
				c.Healthy = false
				c.Detail = fmt.Sprintf("%s: %s", typ[strings.LastIndex(typ, "/")+1:], t.LastError)
			}
		}
		out = append(out, c)
	}
	return out
}

func throttles(b *decisions.ThrottleBoard) []dashboard.Throttle {
	ts := b.Throttles()
	out := make([]dashboard.Throttle, len(ts))
	for i, t := range ts {
		out[i] = dashboard.Throttle(t)
	}
	return out
}

// dashboardAuditRows is how many admin writes the page lists.
const dashboardAuditRows = 20

// adminWrites are the newest admin writes; none while the store does not
// answer (the page says so rather than stalling).
func adminWrites(ctx context.Context, srv *controlplane.Server) []dashboard.AdminWrite {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	entries, err := srv.Audit(ctx, dashboardAuditRows)
	if err != nil {
		return nil
	}
	out := make([]dashboard.AdminWrite, len(entries))
	for i, e := range entries {
		out[i] = dashboard.AdminWrite{Time: e.Time, Who: e.Who, Action: e.Action, Domain: e.Domain, OldVersion: e.OldVersion, NewVersion: e.NewVersion}
	}
	return out
}
