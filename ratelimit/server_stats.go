package ratelimit

import (
	"context"
	"strings"
	"sync"
	"time"

	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"
)

// ServerStats counts a gRPC server's unary calls as envoyproxy/ratelimit's
// server reporter does (src/metrics/metrics.go): under ratelimit_server,
// per method, <Method>.total_requests and the timer <Method>.response_time
// in milliseconds, to the microsecond so that a histogram of answers
// from memory is not all zero; ShouldRateLimit's are the ones dashboards
// read.
type ServerStats struct {
	scope   gostats.Scope
	methods sync.Map // full method -> *methodStats
}

type methodStats struct {
	totalRequests gostats.Counter
	responseTime  gostats.Timer
}

// NewServerStats returns the stats of a server under root's
// ratelimit_server, tagged with tags (nil: none).
func NewServerStats(root gostats.Scope, tags map[string]string) *ServerStats {
	return &ServerStats{scope: root.ScopeWithTags("ratelimit_server", tags)}
}

// UnaryInterceptor counts each call before it runs and times it once it
// has answered.
func (s *ServerStats) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		m := s.method(info.FullMethod)
		m.totalRequests.Inc()
		resp, err := handler(ctx, req)
		m.responseTime.AddValue(float64(time.Since(start).Microseconds()) / 1000)
		return resp, err
	}
}

func (s *ServerStats) method(fullMethod string) *methodStats {
	if m, ok := s.methods.Load(fullMethod); ok {
		return m.(*methodStats)
	}
	// "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit" is
	// named ShouldRateLimit.
	name := fullMethod[strings.LastIndex(fullMethod, "/")+1:]
	m, _ := s.methods.LoadOrStore(fullMethod, &methodStats{
		totalRequests: s.scope.NewCounter(name + ".total_requests"),
		responseTime:  s.scope.NewTimer(name + ".response_time"),
	})
	return m.(*methodStats)
}
