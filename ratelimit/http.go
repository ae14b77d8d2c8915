package ratelimit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/floodgate/floodgate/policy"
)

// Health reports whether the service can answer well, with detail for
// operators (engine and bus connections, dropped hits, policy version).
type Health func() (healthy bool, detail map[string]any)

// maxJSONBody bounds a /json request body.
const maxJSONBody = 1 << 20

// HTTPHandler serves the HTTP side of the RLS:
//
//	GET  /healthcheck  200 "OK", or 500 with the health detail; unhealthy
//	                   too while no policies are in force
//	POST /json         a RateLimitRequest in protojson; 200, 429 over limit,
//	                   400 bad input, 413 a body over 1 MiB
//	GET  /rlconfig     the rules in force, one a line, as envoyproxy/ratelimit
//	                   prints them; ?format=yaml: the policies as YAML
func (s *Service) HTTPHandler(health Health) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthcheck", func(w http.ResponseWriter, r *http.Request) {
		ok, detail := s.healthOf(health)
		if r.URL.Query().Has("detail") || !ok {
			w.Header().Set("Content-Type", "application/json")
			if !ok {
				w.WriteHeader(http.StatusInternalServerError)
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"healthy": ok, "detail": detail})
			return
		}
		_, _ = io.WriteString(w, "OK\n")
	})
	mux.HandleFunc("POST /json", s.serveJSON)
	mux.HandleFunc("GET /rlconfig", s.servePolicies)
	return mux
}

func (s *Service) serveJSON(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, fmt.Sprintf("request body: over the maximum of %d bytes", tooLarge.Limit), http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var req rlsv3.RateLimitRequest
	if err := unmarshalJSONRequest(body, &req); err != nil {
		http.Error(w, "request body: not a RateLimitRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := s.ShouldRateLimit(r.Context(), &req)
	if err != nil {
		code := http.StatusInternalServerError
		if status.Code(err) == codes.InvalidArgument {
			code = http.StatusBadRequest
		}
		http.Error(w, status.Convert(err).Message(), code)
		return
	}
	out, err := protojson.Marshal(resp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if resp.OverallCode == rlsv3.RateLimitResponse_OVER_LIMIT {
		w.WriteHeader(http.StatusTooManyRequests)
	}
	_, _ = w.Write(out)
}

// healthOf is the service's health: the limiter's, from h (healthy when
// nil), and the policies in force. /healthcheck and gRPC health both
// answer from it.
func (s *Service) healthOf(h Health) (bool, map[string]any) {
	ok, detail := true, map[string]any(nil)
	if h != nil {
		ok, detail = h()
	}
	return s.policyHealth(ok, detail)
}

// policyHealth adds the policies in force to the health of the limiter. A
// service with no domain in force (a replica whose control plane has sent
// nothing it could take, an empty policy directory) answers every request
// without a limit: it is not healthy, whatever its limiter reports, unless
// it was told to serve without policies.
func (s *Service) policyHealth(ok bool, detail map[string]any) (bool, map[string]any) {
	out := make(map[string]any, len(detail)+1)
	for k, v := range detail {
		out[k] = v
	}
	snap := s.Snapshot()
	if snap == nil || len(snap.Configs()) == 0 {
		out["policies"] = "none in force: every request is answered without a limit"
		out["policy_domains"] = 0
		return ok && s.noPolicyOK, out
	}
	out["policy_domains"] = len(snap.Configs())
	return ok, out
}

// PoliciesHandler serves /rlconfig alone, for another listener.
func (s *Service) PoliciesHandler() http.Handler { return http.HandlerFunc(s.servePolicies) }

func (s *Service) servePolicies(w http.ResponseWriter, r *http.Request) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_ = policy.WriteDump(w, s.Snapshot())
		return
	case "yaml":
	default:
		http.Error(w, fmt.Sprintf("format %q: want text or yaml", f), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	snap := s.Snapshot()
	if snap == nil {
		_, _ = io.WriteString(w, "# no policies loaded\n")
		return
	}
	for _, c := range snap.Configs() {
		out, err := policy.Marshal(c)
		if err != nil {
			http.Error(w, "domain "+c.Domain+": "+err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "---\n# source: "+strings.Join(c.Sources(), ", ")+"\n")
		_, _ = w.Write(out)
	}
}
