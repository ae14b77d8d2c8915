// Package dashboard serves Floodgate's live web page: the policies in
// force, the xDS nodes, engines and replicas, the keys throttled now,
// per-domain answer rates and the datacenters' links to the global tier. It knows no role: each role hands it the
// sources it has (Sources) and mounts the Handler at /ui/.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"time"
)

//go:embed assets
var assets embed.FS

// Sources are the data a role has; a nil source leaves its section out.
type Sources struct {
	Version    func() string
	Domains    func() []Domain
	Nodes      func() []Node
	Components func() []Component
	Throttles  func() []Throttle
	Counts     func() []DomainCount
	Flows      func() []Flow
	Audit      func() []AdminWrite
	// Datacenters are the datacenters' links to the global tier.
	Datacenters func() []Datacenter
	// Policy returns one domain's policy as YAML and its version (the
	// admin API's ETag, which a write sends back in If-Match); ok is false
	// for a domain not in force.
	Policy func(domain string) (yaml, version string, ok bool, err error)
}

// Options configure the Handler. Zero values work.
type Options struct {
	// Title names the process on the page ("control plane", "serve").
	Title   string
	Sources Sources
	// AdminAPI is the path of the admin API's policies, "/v1/policies/":
	// set, the page edits policies through it with the admin token the
	// user types in. Empty: the page is read-only.
	AdminAPI string
	// Interval is how often the page gets a new State; 250ms by default,
	// so a key throttled shows within a second.
	Interval time.Duration
	// Context ends the live streams (a stream would otherwise hold the
	// HTTP server's graceful stop until its deadline); nil: they end only
	// with their request.
	Context context.Context
	// MaxStream bounds one live stream; the browser reconnects by itself.
	// 5 minutes by default.
	MaxStream time.Duration
}

func (o Options) withDefaults() Options {
	if o.Title == "" {
		o.Title = "floodgate"
	}
	if o.Interval <= 0 {
		o.Interval = 250 * time.Millisecond
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.MaxStream <= 0 {
		o.MaxStream = 5 * time.Minute
	}
	return o
}

// Handler serves the page and its data under /ui/:
//
//	GET /ui/                  the page (and its assets)
//	GET /ui/state             the State, JSON
//	GET /ui/events            the State every Interval, server-sent events
//	GET /ui/policy/{domain}   one domain's policy: {"domain","yaml","version"}
type Handler struct {
	o   Options
	mux *http.ServeMux
}

// New returns the Handler of o.
func New(o Options) *Handler {
	h := &Handler{o: o.withDefaults(), mux: http.NewServeMux()}
	static, _ := fs.Sub(assets, "assets")
	h.mux.Handle("GET /ui/", http.StripPrefix("/ui/", noStore(http.FileServerFS(static))))
	h.mux.HandleFunc("GET /ui/state", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, h.State()) })
	h.mux.HandleFunc("GET /ui/events", h.events)
	h.mux.HandleFunc("GET /ui/policy/{domain}", h.policy)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// State reads every source now.
func (h *Handler) State() State {
	s := h.o.Sources
	st := State{Title: h.o.Title, Now: time.Now().UTC(), Editable: h.o.AdminAPI != "" && s.Policy != nil}
	add := func(name string, have bool, fill func()) {
		if have {
			st.Sections = append(st.Sections, name)
			fill()
		}
	}
	if s.Version != nil {
		st.Version = s.Version()
	}
	add("domains", s.Domains != nil, func() { st.Domains = s.Domains() })
	add("nodes", s.Nodes != nil, func() { st.Nodes = s.Nodes() })
	add("components", s.Components != nil, func() { st.Components = s.Components() })
	add("throttles", s.Throttles != nil, func() { st.Throttles = s.Throttles() })
	add("counts", s.Counts != nil, func() { st.Counts = s.Counts() })
	add("flows", s.Flows != nil, func() { st.Flows = s.Flows() })
	add("audit", s.Audit != nil, func() { st.Audit = s.Audit() })
	add("datacenters", s.Datacenters != nil, func() { st.Datacenters = s.Datacenters() })
	return st
}

// events sends the State every Interval until the client leaves, the
// stream has lasted MaxStream, or the Options' Context ends.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(h.o.Interval)
	defer tick.Stop()
	end := time.NewTimer(h.o.MaxStream)
	defer end.Stop()
	for {
		b, err := json.Marshal(h.State())
		if err != nil {
			return
		}
		if _, err := w.Write(append(append([]byte("data: "), b...), '\n', '\n')); err != nil {
			return
		}
		flusher.Flush()
		select {
		case <-tick.C:
		case <-end.C:
			return
		case <-r.Context().Done():
			return
		case <-h.o.Context.Done():
			return
		}
	}
}

func (h *Handler) policy(w http.ResponseWriter, r *http.Request) {
	domain := r.PathValue("domain")
	if h.o.Sources.Policy == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "this process shows no policies"})
		return
	}
	y, v, ok, err := h.o.Sources.Policy(domain)
	switch {
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	case !ok:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "domain " + domain + " is not in force"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"domain": domain, "yaml": y, "version": v,
			"admin_api": h.o.AdminAPI})
	}
}

// noStore keeps browsers from serving a previous build's page.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
