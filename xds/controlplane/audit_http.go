package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// writerKey carries who an authorized admin request comes from.
type writerKey struct{}

func withWriter(r *http.Request, who string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), writerKey{}, who))
}

func writerOf(r *http.Request) string {
	who, _ := r.Context().Value(writerKey{}).(string)
	return who
}

// replaced is the admin version of domain a write that expects expected
// replaces: the one the precondition named, or, when it named none, the
// one this control plane last read from the store.
func (s *Server) replaced(domain string, expected int64) int64 {
	if expected != AnyVersion {
		return expected
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if src := s.state.sources[domain]; src.Source == AdminSource {
		return src.ETag
	}
	return 0
}

// audit records a stored admin write. A write the log could not take is
// still stored: it is logged here instead, and counted.
func (s *Server) audit(r *http.Request, e AuditEntry) {
	e.Time, e.Who, e.ControlPlane = time.Now().UTC(), writerOf(r), s.opts.Name
	s.log.Info("xds: admin write", "who", e.Who, "action", e.Action, "domain", e.Domain,
		"old_version", e.OldVersion, "new_version", e.NewVersion, "served", e.Served)
	as, ok := s.opts.Store.(AuditStore)
	if !ok {
		return
	}
	// Not the request's context, as for the rebuild: the write is done.
	ctx, cancel := context.WithTimeout(s.ctx, storeReadTimeout)
	defer cancel()
	if err := as.AppendAudit(ctx, e, s.opts.AuditEntries); err != nil {
		s.auditFailed.Inc()
		s.log.Error("xds: admin write not in the audit log", "err", err, "domain", e.Domain, "who", e.Who)
	}
}

// getAudit serves the audit log, newest first; ?limit=N (default and
// most: the log's bound) returns the newest N.
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) {
	limit := s.opts.AuditEntries
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit %q: not a positive number", q))
			return
		}
		limit = min(n, limit)
	}
	entries, err := s.Audit(r.Context(), limit)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// Audit returns the newest limit admin writes, newest first; none when
// the store keeps no audit log.
func (s *Server) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	entries := []AuditEntry{}
	if as, ok := s.opts.Store.(AuditStore); ok {
		got, err := as.Audit(ctx, limit)
		if err != nil {
			return nil, err
		}
		entries = append(entries, got...)
	}
	return entries, nil
}
