package dashboard

import (
	"time"

	"github.com/floodgate/floodgate/internal/globallink"
)

// Datacenter is one datacenter's link to the global tier, as its engines
// last reported it.
type Datacenter struct {
	Name string `json:"name"`
	// Link is "up", "cut off" (Error says why) or "stale" (no report
	// lately: cut off or down).
	Link       string             `json:"link"`
	Error      string             `json:"error,omitempty"`
	ReportedAt time.Time          `json:"reported_at"`
	Engines    []DatacenterEngine `json:"engines"`
	// Leases are the datacenter's busiest global leases.
	Leases []GlobalLease `json:"leases"`
}

// DatacenterEngine is one engine's view of its datacenter's link.
type DatacenterEngine struct {
	ID          string    `json:"id"`
	Up          bool      `json:"up"`
	Since       time.Time `json:"since"`
	LastContact time.Time `json:"last_contact,omitzero"`
	Error       string    `json:"error,omitempty"`
	ReportedAt  time.Time `json:"reported_at,omitzero"`
}

// GlobalLease is a datacenter's holding of one global key's window: held
// from the global tier, its fallback extra while cut off, used by its
// replicas, and what the others had at the last contact.
type GlobalLease = globallink.Lease
