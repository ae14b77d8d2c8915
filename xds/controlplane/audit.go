package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// AuditEntry is one admin write.
type AuditEntry struct {
	Time time.Time `json:"time"`
	// Who wrote: "token:<id>", a short hash of the bearer token (never the
	// token), or "cert:<subject>" of the verified client certificate.
	Who    string `json:"who"`
	Action string `json:"action"` // "put" or "delete"
	Domain string `json:"domain"`
	// OldVersion is the domain's admin version before the write (0: none),
	// NewVersion after it (0: deleted).
	OldVersion int64 `json:"old_version"`
	NewVersion int64 `json:"new_version"`
	// Served is the snapshot version that carries the write, empty if it
	// was stored but not served.
	Served       string `json:"served,omitempty"`
	ControlPlane string `json:"control_plane,omitempty"`
}

// Audit actions.
const (
	AuditPut    = "put"
	AuditDelete = "delete"
)

// DefaultAuditEntries bounds the audit log: the oldest entries go first.
const DefaultAuditEntries = 1000

// An AuditStore keeps the audit log beside the policies, shared by the
// control planes that share them. The stores of this package are
// AuditStores.
type AuditStore interface {
	// AppendAudit adds e, keeping the newest max entries.
	AppendAudit(ctx context.Context, e AuditEntry, max int) error
	// Audit returns up to limit entries, newest first.
	Audit(ctx context.Context, limit int) ([]AuditEntry, error)
}

// tokenID names a bearer token in the audit log without revealing it.
func tokenID(token string) string {
	h := sha256.Sum256([]byte(token))
	return "token:" + hex.EncodeToString(h[:])[:12]
}
