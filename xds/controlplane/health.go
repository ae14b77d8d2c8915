package controlplane

import (
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// HealthNames are the gRPC health service names the control plane answers
// for besides "": the discovery services it registers. Each is SERVING
// from the first snapshot (NewServer builds it) until the server stops,
// when serving.Server's shutdown turns them NOT_SERVING with "".
var HealthNames = []string{
	discovery.AggregatedDiscoveryService_ServiceDesc.ServiceName,
	"ratelimit.service.ratelimit.v3.RateLimitConfigDiscoveryService", // its descriptor is unexported
}

// setServing marks "" and every HealthNames SERVING on hs.
func setServing(hs *health.Server) {
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for _, name := range HealthNames {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
}
