package decisions

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/serving"
)

// MaxHitBatchBytes is the largest hit batch, encoded, an engine receives. A
// larger one would break its stream and lose every hit in it: replicas cut
// their batches below it.
const MaxHitBatchBytes = 4 << 20

// ServerOptions are what the gRPC server that carries an engine needs: a
// receive limit of MaxHitBatchBytes.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxHitBatchBytes)}
}

// ServeOn puts the engine role on srv: the hit stream on gRPC, reported
// SERVING, and GET /healthcheck answering OK while the role serves and its
// counter store answers. When
// serving ends the hit streams end first, so the server drains at once.
// srv takes requests of at least MaxHitBatchBytes (ServerOptions).
func (e *Engine) ServeOn(srv *serving.Server) {
	e.Register(srv.GRPC)
	srv.BeforeStop(e.EndStreams)
	srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	srv.Mux.HandleFunc("GET /healthcheck", func(w http.ResponseWriter, _ *http.Request) {
		if err := e.CounterErr(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "OK\n")
		e.writeGlobalHealth(w)
	})
	srv.Mux.HandleFunc("GET /v1/global", func(w http.ResponseWriter, _ *http.Request) {
		s, ok := e.Global()
		if !ok {
			http.Error(w, "this engine has no global tier (--global-redis)", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	})
}

// writeGlobalHealth adds the datacenter's link to the global tier to a
// healthy answer: a datacenter cut off still answers every request (from
// what it holds, then its share), so the link does not fail the check.
func (e *Engine) writeGlobalHealth(w io.Writer) {
	s, ok := e.Global()
	if !ok {
		return
	}
	if s.Up {
		fmt.Fprintf(w, "global tier %s: datacenter %s connected (%d datacenters, %d global keys)\n", s.Global, s.Datacenter, s.Datacenters, s.Keys)
		return
	}
	fmt.Fprintf(w, "global tier %s: datacenter %s cut off since %s (%s); granting what it holds, then its share\n",
		s.Global, s.Datacenter, s.Since.UTC().Format(time.RFC3339), s.Error)
}
