package controlplane

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Every store keeps node reports until they expire, and a bounded audit
// log, newest first, which the file and Redis stores keep for the next
// process.
func TestStoreNodesAndAudit(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const expiry = time.Minute
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			s, reopen := sc.open(t)
			defer s.Close()
			ns, as := s.(NodeStore), s.(AuditStore)

			err := ns.PutNodes(ctx, []NodeStatus{
				{ID: "live", ControlPlane: "cp1", Streams: 1, LastSeen: now.Add(-time.Hour), ReportedAt: now},
				{ID: "left", ControlPlane: "cp1", Streams: 0, LastSeen: now.Add(-2 * expiry), ReportedAt: now},
				{ID: "orphan", ControlPlane: "cp2", Streams: 1, LastSeen: now, ReportedAt: now.Add(-2 * expiry)},
				{ID: "live", ControlPlane: "cp2", Streams: 1, LastSeen: now, ReportedAt: now},
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ns.Nodes(ctx, now, expiry)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].ID != "live" || got[1].ID != "live" || got[0].ControlPlane == got[1].ControlPlane {
				t.Fatalf("nodes: %+v", got)
			}
			if merged := mergeNodes("cp3", nil, got); len(merged) != 1 || merged[0].Streams != 2 || merged[0].ControlPlane != "cp2" {
				t.Fatalf("merged: %+v", merged)
			}

			for i := 1; i <= 4; i++ {
				if err := as.AppendAudit(ctx, AuditEntry{Action: AuditPut, Domain: fmt.Sprint("d", i), NewVersion: int64(i)}, 3); err != nil {
					t.Fatal(err)
				}
			}
			es, err := as.Audit(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != 3 || es[0].Domain != "d4" || es[2].Domain != "d2" {
				t.Fatalf("audit: %+v", es)
			}
			if es, _ := as.Audit(ctx, 1); len(es) != 1 || es[0].Domain != "d4" {
				t.Fatalf("audit limit 1: %+v", es)
			}
			if reopen == nil {
				return
			}
			// A store that outlives its process keeps the log.
			again := reopen()
			defer again.Close()
			if es, err := again.(AuditStore).Audit(ctx, 10); err != nil || len(es) != 3 || es[0].Domain != "d4" {
				t.Fatalf("audit through another handle: %+v, %v", es, err)
			}
		})
	}
}
