package decisions

import (
	"io"
	"net/http"

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
	})
}
