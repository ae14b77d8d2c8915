package controlplane

import (
	"context"
	"os"
	"sort"
	"strconv"
	"time"
)

// DefaultNodeExpiry is how long a node that left, or whose control plane
// stopped reporting it, stays on the status page.
const DefaultNodeExpiry = 5 * time.Minute

// A NodeStore shares the status of every control plane's nodes, so that
// each control plane shows the whole fleet. The stores of this package are
// NodeStores; the nodes of a Store that is not stay local.
type NodeStore interface {
	// PutNodes writes nodes as their control plane (NodeStatus.ControlPlane)
	// reports them, replacing its earlier report of each.
	PutNodes(ctx context.Context, nodes []NodeStatus) error
	// Nodes returns every report not expired at now, and drops the others.
	Nodes(ctx context.Context, now time.Time, expiry time.Duration) ([]NodeStatus, error)
}

// departed reports whether a node's record has expired at now: its control
// plane stopped reporting it, or it has had no stream open for expiry.
func departed(n NodeStatus, now time.Time, expiry time.Duration) bool {
	if !n.ReportedAt.IsZero() && now.Sub(n.ReportedAt) > expiry {
		return true
	}
	return n.Streams == 0 && now.Sub(n.LastSeen) > expiry
}

// nodeField names one control plane's report of one node in a store.
func nodeField(n NodeStatus) string { return n.ControlPlane + "\x00" + n.ID }

// defaultControlPlaneName names this process among the control planes
// sharing a store.
func defaultControlPlaneName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "control-plane"
	}
	return host + "/" + strconv.Itoa(os.Getpid())
}

// mergeNodes joins this control plane's nodes with the others' reports:
// a node with streams on several control planes is one node, with their
// streams added up and the state of the one that saw it last.
func mergeNodes(self string, local, reports []NodeStatus) []NodeStatus {
	byID := map[string]NodeStatus{}
	add := func(n NodeStatus) {
		cur, ok := byID[n.ID]
		if !ok {
			byID[n.ID] = n
			return
		}
		streams := cur.Streams + n.Streams
		if n.LastSeen.After(cur.LastSeen) {
			cur = n
		}
		cur.Streams = streams
		byID[n.ID] = cur
	}
	for _, n := range local {
		add(n)
	}
	for _, n := range reports {
		if n.ControlPlane != self { // this control plane's own are fresher in local
			add(n)
		}
	}
	out := make([]NodeStatus, 0, len(byID))
	for _, n := range byID {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// reportNodes writes this control plane's nodes to the store every
// interval until ctx is done.
func (s *Server) reportNodes(ctx context.Context, ns NodeStore) {
	t := time.NewTicker(s.opts.NodeReportInterval)
	defer t.Stop()
	for {
		nodes := s.acks.Nodes()
		now := time.Now()
		for i := range nodes {
			nodes[i].ControlPlane, nodes[i].ReportedAt = s.opts.Name, now
		}
		if err := ns.PutNodes(ctx, nodes); err != nil && ctx.Err() == nil {
			s.log.Warn("xds: node status not shared; other control planes show it late", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fleetNodes is every node of every control plane sharing the store, and
// why the others' could not be read (then only this one's are listed).
func (s *Server) fleetNodes(ctx context.Context) ([]NodeStatus, error) {
	local := s.acks.Nodes()
	for i := range local {
		local[i].ControlPlane = s.opts.Name
	}
	ns, ok := s.opts.Store.(NodeStore)
	if !ok {
		return local, nil
	}
	ctx, cancel := context.WithTimeout(ctx, storeReadTimeout)
	defer cancel()
	reports, err := ns.Nodes(ctx, time.Now(), s.opts.NodeExpiry)
	if err != nil {
		return local, err
	}
	return mergeNodes(s.opts.Name, local, reports), nil
}

// storeReadTimeout bounds a status page's wait on the shared store.
const storeReadTimeout = 2 * time.Second
