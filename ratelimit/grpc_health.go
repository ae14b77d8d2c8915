package ratelimit

import (
	"context"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// ServiceName is the RLS's gRPC service, as health checks name it.
const ServiceName = "envoy.service.ratelimit.v3.RateLimitService"

// HealthName is the service name envoyproxy/ratelimit's gRPC health
// answers for, so Envoy's grpc_health_check { service_name: ratelimit }
// and Kubernetes probes written for it keep working.
const HealthName = "ratelimit"

// healthNames are the gRPC health service names that follow the RLS's
// health: the server's (""), the RLS's and envoyproxy/ratelimit's.
var healthNames = []string{"", ServiceName, HealthName}

// FollowHealth keeps the gRPC health statuses of the server (""), of the
// RLS and of HealthName in step with what /healthcheck answers, so that gRPC health checks
// (Envoy's, Kubernetes' gRPC probes) see the same state: no policies in
// force, or a limiter whose dependencies are down, is NOT_SERVING. It reads
// h every period until ctx is done; run it on its own goroutine.
func (s *Service) FollowHealth(ctx context.Context, hs *health.Server, h Health, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ok, _ := s.healthOf(h)
		status := healthpb.HealthCheckResponse_NOT_SERVING
		if ok {
			status = healthpb.HealthCheckResponse_SERVING
		}
		for _, name := range healthNames {
			hs.SetServingStatus(name, status)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
