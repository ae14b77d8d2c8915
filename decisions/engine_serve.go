package decisions

import (
	"io"
	"net/http"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/floodgate/floodgate/internal/serving"
)

// ServeOn puts the engine role on srv: the hit stream on gRPC, reported
// SERVING, and GET /healthcheck answering OK while the role serves.
func (e *Engine) ServeOn(srv *serving.Server) {
	e.Register(srv.GRPC)
	srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	srv.Mux.HandleFunc("GET /healthcheck", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK\n") })
}
