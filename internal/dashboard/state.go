package dashboard

import "time"

// State is everything the page shows at one moment. The roles fill it
// from their own sources; a section a role has no source for stays empty
// and the page says so.
type State struct {
	Title string    `json:"title"`
	Now   time.Time `json:"now"`
	// Version is the policy version in force (the control plane's
	// snapshot version; empty where there is none).
	Version string `json:"version,omitempty"`
	// Editable: the page may write policies through the admin API.
	Editable bool `json:"editable"`
	// Sections lists the sections this process has a source for.
	Sections    []string      `json:"sections"`
	Domains     []Domain      `json:"domains"`
	Nodes       []Node        `json:"nodes"`
	Components  []Component   `json:"components"`
	Throttles   []Throttle    `json:"throttles"`
	Counts      []DomainCount `json:"counts"`
	Flows       []Flow        `json:"flows"`
	Audit       []AdminWrite  `json:"audit"`
	Datacenters []Datacenter  `json:"datacenters"`
}

// AdminWrite is one policy write through the admin API.
type AdminWrite struct {
	Time   time.Time `json:"time"`
	Who    string    `json:"who"` // token:<hash> or cert:<subject>
	Action string    `json:"action"`
	Domain string    `json:"domain"`
	// OldVersion and NewVersion are the domain's admin versions; 0: none.
	OldVersion int64 `json:"old_version"`
	NewVersion int64 `json:"new_version"`
}

// Domain is one policy domain in force.
type Domain struct {
	Name string `json:"name"`
	// Version is the domain's own version (the admin API's ETag; "0" for
	// a file's), Source where it was defined.
	Version   string `json:"version"`
	Source    string `json:"source"`
	Overrides string `json:"overrides,omitempty"`
}

// Node is one xDS client of a control plane.
type Node struct {
	ID       string     `json:"id"`
	Cluster  string     `json:"cluster,omitempty"`
	Streams  int        `json:"streams"`
	LastSeen time.Time  `json:"last_seen"`
	Types    []NodeType `json:"types"`
}

// NodeType is a node's state for one resource type.
type NodeType struct {
	Type             string `json:"type"`
	SentVersion      string `json:"sent_version,omitempty"`
	AckedVersion     string `json:"acked_version,omitempty"`
	Nacked           bool   `json:"nacked"`
	Failing          bool   `json:"failing"`
	LastError        string `json:"last_error,omitempty"`
	LastErrorVersion string `json:"last_error_version,omitempty"`
	Acks             uint64 `json:"acks"`
	Nacks            uint64 `json:"nacks"`
}

// Component is an engine, a replica or a bus, with its health.
type Component struct {
	Kind    string `json:"kind"` // "engine", "replica", "bus", ...
	Name    string `json:"name"`
	Healthy bool   `json:"healthy"`
	// Detail says why it is unhealthy, or what it is connected to.
	Detail string `json:"detail,omitempty"`
}

// Throttle is one key throttled now.
type Throttle struct {
	Domain    string    `json:"domain"`
	Key       string    `json:"key"`
	WindowEnd time.Time `json:"window_end"`
	Limit     uint32    `json:"limit"`
	Count     uint64    `json:"count"`
	Engine    string    `json:"engine"`
}

// DomainCount is one domain's answers so far; the page shows the rates of
// successive counts.
type DomainCount struct {
	Domain    string `json:"domain"`
	Requests  uint64 `json:"requests"`
	OverLimit uint64 `json:"over_limit"`
	NearLimit uint64 `json:"near_limit"`
}

// Flow is a named running total (tokens granted, leases asked, ...); the
// page shows its rate.
type Flow struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}
