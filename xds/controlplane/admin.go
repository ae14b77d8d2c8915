package controlplane

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/globallink"
	"github.com/floodgate/floodgate/policy"
)

// maxPolicyBytes bounds an admin API request body.
const maxPolicyBytes = 1 << 20

// Status is the control plane's state, as the status page shows it.
type Status struct {
	// Version is the snapshot version being served.
	Version string `json:"version"`
	// Revision is the store's revision the version was built from.
	Revision  int64          `json:"revision"`
	UpdatedAt time.Time      `json:"updated_at,omitzero"`
	Domains   []DomainStatus `json:"domains"`
	// Error is why the last change was not served (the previous version
	// still is); empty when the last change was served.
	Error string `json:"error,omitempty"`
	// FileError is why the last load of the policy files failed.
	FileError string `json:"file_error,omitempty"`
	// StandardOmitted lists the domains the RateLimitConfig type cannot
	// express, with the reason; they are served only as Policy.
	StandardOmitted map[string]string `json:"standard_omitted,omitempty"`
	// StandardDropped lists, per domain, the Floodgate features left out of
	// its RateLimitConfig.
	StandardDropped map[string][]string `json:"standard_dropped,omitempty"`
	// StandardOmissions says, descriptor by descriptor, what the
	// RateLimitConfig resources do not carry ("omitted: domain api
	// descriptor user: algorithm sliding_window (served as a fixed
	// window)"), so that an operator of a service reading them sees which
	// limits it enforces differently.
	StandardOmissions []string `json:"standard_omissions,omitempty"`
	// Nodes are the nodes of every control plane sharing the store.
	Nodes []NodeStatus `json:"nodes"`
	// NodesError is why the other control planes' nodes could not be
	// read: Nodes then lists only this one's.
	NodesError string `json:"nodes_error,omitempty"`
	// ControlPlane names the control plane that answered.
	ControlPlane string `json:"control_plane,omitempty"`
	// Datacenters are the datacenters' links to the global tier, as their
	// engines last reported them (ServerOptions.Datacenters); absent
	// without one. DatacentersError is why they could not be read.
	Datacenters      []globallink.Datacenter `json:"datacenters,omitzero"`
	DatacentersError string                  `json:"datacenters_error,omitempty"`
}

// DomainStatus is one served domain.
type DomainStatus struct {
	Domain string `json:"domain"`
	// Source is "admin" or the policy file.
	Source string `json:"source"`
	// ETag is the admin version to send in If-Match; "0" for a domain not
	// written through the admin API.
	ETag string `json:"etag"`
	// Overrides is the file whose definition an admin policy replaces.
	Overrides string `json:"overrides,omitempty"`
}

// PolicyDocument is one domain as the admin API returns it in JSON.
type PolicyDocument struct {
	DomainStatus
	YAML string `json:"yaml"`
}

// Status reports what the server serves and what every node runs.
func (s *Server) Status() Status { return s.status(context.Background()) }

func (s *Server) status(ctx context.Context) Status {
	s.mu.Lock()
	st := Status{
		Version:           s.state.version,
		Revision:          s.state.contents.Revision,
		UpdatedAt:         s.state.updatedAt,
		Domains:           s.domainsLocked(),
		StandardOmitted:   s.state.omitted,
		StandardDropped:   s.state.dropped,
		StandardOmissions: s.state.omissions,
		ControlPlane:      s.opts.Name,
	}
	if s.state.buildErr != nil {
		st.Error = s.state.buildErr.Error()
	}
	if s.state.fileErr != nil {
		st.FileError = s.state.fileErr.Error()
	}
	s.mu.Unlock()
	nodes, err := s.fleetNodes(ctx)
	st.Nodes = nodes
	if err != nil {
		st.NodesError = err.Error()
	}
	s.readDatacenters(ctx, &st)
	return st
}

func (s *Server) domainsLocked() []DomainStatus {
	out := make([]DomainStatus, 0, len(s.state.configs))
	for _, c := range s.state.configs {
		out = append(out, domainStatus(c.Domain, s.state.sources[c.Domain]))
	}
	return out
}

func domainStatus(domain string, src domainSource) DomainStatus {
	return DomainStatus{Domain: domain, Source: src.Source, ETag: etag(src.ETag), Overrides: src.Overrides}
}

func etag(v int64) string { return strconv.Quote(strconv.FormatInt(v, 10)) }

// Handler serves the admin API and the status page:
//
//	GET    /v1/status             the Status, JSON
//	GET    /v1/audit              the admin writes, newest first (?limit=N)
//	GET    /v1/policies           every domain, JSON
//	GET    /v1/policies/{domain}  one domain: YAML, or JSON if asked; ETag
//	PUT    /v1/policies/{domain}  create or replace (YAML or JSON body)
//	DELETE /v1/policies/{domain}  remove an admin policy
//	GET    /healthz
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.status(r.Context())) })
	mux.HandleFunc("GET /v1/audit", s.getAudit)
	mux.HandleFunc("GET /v1/policies", s.listPolicies)
	mux.HandleFunc("GET /v1/policies/{domain}", s.getPolicy)
	mux.HandleFunc("PUT /v1/policies/{domain}", countWrites(s.scope, "put", s.authorize(s.putPolicy)))
	mux.HandleFunc("DELETE /v1/policies/{domain}", countWrites(s.scope, "delete", s.authorize(s.deletePolicy)))
	if s.opts.Metrics != nil {
		mux.Handle("GET /metrics", s.opts.Metrics)
	}
	for pattern, h := range s.opts.Routes {
		mux.Handle(pattern, h)
	}
	return mux
}

func (s *Server) document(domain string) (PolicyDocument, bool, error) {
	s.mu.Lock()
	var cfg *policy.Config
	for _, c := range s.state.configs {
		if c.Domain == domain {
			cfg = c
		}
	}
	src := s.state.sources[domain]
	s.mu.Unlock()
	if cfg == nil {
		return PolicyDocument{}, false, nil
	}
	y, err := policy.Marshal(cfg)
	if err != nil {
		return PolicyDocument{}, false, fmt.Errorf("domain %q: %w", domain, err)
	}
	return PolicyDocument{DomainStatus: domainStatus(domain, src), YAML: string(y)}, true, nil
}

func (s *Server) listPolicies(w http.ResponseWriter, _ *http.Request) {
	st := s.Status()
	docs := make([]PolicyDocument, 0, len(st.Domains))
	for _, d := range st.Domains {
		doc, ok, err := s.document(d.Domain)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		if ok {
			docs = append(docs, doc)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": st.Version, "revision": st.Revision, "policies": docs})
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	domain := r.PathValue("domain")
	doc, ok, err := s.document(domain)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("domain %q is not defined", domain))
		return
	}
	w.Header().Set("ETag", doc.ETag)
	w.Header().Set("X-Floodgate-Source", doc.Source)
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, doc)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	io.WriteString(w, doc.YAML)
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) {
	domain := r.PathValue("domain")
	if err := checkDomainName(domain); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	expected, explicit, err := precondition(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPolicyBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("policy body: %w", err))
		return
	}
	// JSON is YAML, so one parser reads both bodies.
	cfg, err := policy.Parse(adminName(domain), body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if cfg.Domain != domain {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%s: the body defines domain %q, the URL names %q", adminName(domain), cfg.Domain, domain))
		return
	}
	cfg.Source = AdminSource
	var tooLarge *SizeError
	switch err := s.validateWith(cfg); {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("domain %q refused: %w", domain, err))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err)
		return
	}
	rec, err := s.opts.Store.Put(r.Context(), domain, string(body), expected)
	var verr *VersionError
	switch {
	case errors.As(err, &verr) && !explicit:
		writeError(w, http.StatusConflict, fmt.Errorf("domain %q exists at version %d: send If-Match: %s to replace it", domain, verr.Found, etag(verr.Found)))
		return
	case errors.As(err, &verr):
		w.Header().Set("ETag", etag(verr.Found))
		writeError(w, http.StatusPreconditionFailed, err)
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	code := http.StatusOK
	if expected == 0 {
		code = http.StatusCreated
	}
	s.written(w, r, code, AuditEntry{Action: AuditPut, Domain: domain, OldVersion: s.replaced(domain, expected), NewVersion: rec.Version})
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) {
	domain := r.PathValue("domain")
	expected, _, err := precondition(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if r.Header.Get("If-Match") == "" {
		expected = AnyVersion
	}
	if err := s.opts.DropGuard.CheckDelete(domain, s.domainsLeftWithout(domain)); err != nil {
		writeError(w, http.StatusConflict, fmt.Errorf("domain %q not deleted: %w", domain, err))
		return
	}
	old := s.replaced(domain, expected)
	_, err = s.opts.Store.Delete(r.Context(), domain, expected)
	switch {
	case errors.Is(err, ErrNotFound):
		s.mu.Lock()
		src, defined := s.state.sources[domain]
		s.mu.Unlock()
		if defined {
			writeError(w, http.StatusConflict, fmt.Errorf("domain %q is defined in %s, not through the admin API: change it there", domain, src.Source))
			return
		}
		writeError(w, http.StatusNotFound, fmt.Errorf("domain %q is not defined", domain))
		return
	case errors.Is(err, ErrVersionMismatch):
		writeError(w, http.StatusPreconditionFailed, err)
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	s.written(w, r, http.StatusOK, AuditEntry{Action: AuditDelete, Domain: domain, OldVersion: old})
}

// domainsLeftWithout counts the domains served once the admin policy of
// domain is deleted: a file's definition of it comes back.
func (s *Server) domainsLeftWithout(domain string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := len(s.state.configs)
	if src, ok := s.state.sources[domain]; ok && src.Source == AdminSource && src.Overrides == "" {
		left--
	}
	return left
}

// written records the stored change in the audit log and serves it at
// once, so that the reply names the version that carries it.
func (s *Server) written(w http.ResponseWriter, r *http.Request, code int, change AuditEntry) {
	domain, version := change.Domain, change.NewVersion
	// Not the request's context: a client that hangs up must not leave the
	// stored change unserved.
	err := s.rebuild(s.ctx)
	if err == nil {
		change.Served = s.Version()
	}
	s.audit(r, change)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("domain %q stored but not served: %w", domain, err))
		return
	}
	if version > 0 {
		w.Header().Set("ETag", etag(version))
	}
	writeJSON(w, code, map[string]any{"domain": domain, "etag": etag(version), "version": s.Version()})
}

// validateWith compiles the served policies with cfg in place of its
// domain and measures the response they would make, so a write that would
// break the set, or make it too large for any client to receive (a
// *SizeError), is refused before it is stored.
func (s *Server) validateWith(cfg *policy.Config) error {
	s.mu.Lock()
	configs := make([]*policy.Config, 0, len(s.state.configs)+1)
	for _, c := range s.state.configs {
		if c.Domain != cfg.Domain {
			configs = append(configs, c)
		}
	}
	s.mu.Unlock()
	configs = append(configs, cfg)
	if _, err := policy.CompileWith(configs, s.opts.Load.CompileOptions); err != nil {
		return err
	}
	res, _, err := buildResources(configs)
	if err != nil {
		return err
	}
	return checkSize(res)
}

// precondition reads If-Match / If-None-Match into the version a write
// expects. Without either, a PUT only creates (explicit is false).
func precondition(r *http.Request) (expected int64, explicit bool, err error) {
	if im := r.Header.Get("If-Match"); im != "" {
		if strings.TrimSpace(im) == "*" {
			return AnyVersion, true, nil
		}
		v := strings.Trim(strings.TrimPrefix(strings.TrimSpace(im), "W/"), `"`)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, false, fmt.Errorf("If-Match %q: not an ETag of this API", im)
		}
		return n, true, nil
	}
	if r.Header.Get("If-None-Match") == "*" {
		return 0, true, nil
	}
	return 0, false, nil
}

// authorize admits writes with the admin token or a verified client
// certificate.
func (s *Server) authorize(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		byCert := s.opts.AdminTLS.CAFile != ""
		if s.opts.AdminToken == "" && s.opts.AdminTokens == nil && !byCert {
			writeError(w, http.StatusForbidden, errors.New("admin API writes are disabled: no admin token or client CA is configured"))
			return
		}
		if byCert && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			next(w, withWriter(r, "cert:"+r.TLS.VerifiedChains[0][0].Subject.String()))
			return
		}
		if tok, ok := bearerToken(r.Header.Get("Authorization")); ok && s.tokenAdmits(tok) {
			next(w, withWriter(r, tokenID(tok)))
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="floodgate"`)
		writeError(w, http.StatusUnauthorized, errors.New("admin API writes need a bearer token or a client certificate"))
	}
}

// tokenAdmits reports whether tok is the admin token or one of the
// admin token file's.
func (s *Server) tokenAdmits(tok string) bool {
	if s.opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.AdminToken)) == 1 {
		return true
	}
	return s.opts.AdminTokens != nil && s.opts.AdminTokens.Contains(tok)
}

// bearerToken reads the credentials of a Bearer Authorization header. The
// scheme is case-insensitive (RFC 7235 section 2.1): "bearer" is "Bearer".
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(token, " "), true
}

// warnPlainAdmin warns when the admin token would cross a network in
// clear text: plain HTTP on an address other hosts can reach.
func (s *Server) warnPlainAdmin(addr net.Addr) {
	if (s.opts.AdminToken == "" && s.opts.AdminTokens == nil) || s.opts.AdminTLS.Enabled() {
		return
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() {
		return
	}
	s.log.Warn("xds: the admin token is accepted over plain HTTP on a non-loopback address; "+
		"anyone on the network path can read it: serve the admin API over TLS or on loopback", "addr", addr.String())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
