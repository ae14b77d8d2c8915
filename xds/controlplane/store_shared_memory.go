package controlplane

import (
	"context"
	"sync"
	"time"
)

// localShared keeps node reports and the audit log in memory, for the
// stores that serve one control plane process (MemoryStore; FileStore
// keeps its audit log in its file): they are lost when it stops.
type localShared struct {
	mu    sync.Mutex
	nodes map[string]NodeStatus
	audit []AuditEntry // oldest first
}

// PutNodes implements NodeStore.
func (l *localShared) PutNodes(_ context.Context, nodes []NodeStatus) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nodes == nil {
		l.nodes = map[string]NodeStatus{}
	}
	for _, n := range nodes {
		l.nodes[nodeField(n)] = n
	}
	return nil
}

// Nodes implements NodeStore.
func (l *localShared) Nodes(_ context.Context, now time.Time, expiry time.Duration) ([]NodeStatus, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]NodeStatus, 0, len(l.nodes))
	for k, n := range l.nodes {
		if departed(n, now, expiry) {
			delete(l.nodes, k)
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// AppendAudit implements AuditStore.
func (l *localShared) AppendAudit(_ context.Context, e AuditEntry, max int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.audit = append(l.audit, e)
	if over := len(l.audit) - max; max > 0 && over > 0 {
		l.audit = append([]AuditEntry(nil), l.audit[over:]...)
	}
	return nil
}

// Audit implements AuditStore.
func (l *localShared) Audit(_ context.Context, limit int) ([]AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]AuditEntry, 0, min(limit, len(l.audit)))
	for i := len(l.audit) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, l.audit[i])
	}
	return out, nil
}
