// Package ratelimit is Floodgate's rate-limit service: it answers Envoy's
// envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit by matching
// request descriptors against the current policy snapshot and asking a
// Limiter how far each matched counter is from its limit.
package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/internal/metrics"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/policy"
)

// Options configure a Service. The zero value of every field but Limiter
// works.
type Options struct {
	Limiter Limiter

	// Stats is the root scope; the service's stats go under
	// "ratelimit.service". Nil discards them.
	Stats gostats.Scope
	// StatsTags tag every stat under "ratelimit" (EXTRA_TAGS of
	// envoyproxy/ratelimit); ValueStats must carry the same
	// (metrics.ValueStatsOptions.Tags).
	StatsTags map[string]string
	// ValueStats holds the stats named by request values (detailed_metric,
	// value_to_metric, a descriptor's own limit), bounded and freed when
	// idle; make it with NewValueStats and flush it with the Stats store
	// (metrics.StoreOptions.Values). Nil: one of default bounds, flushed
	// into the Stats store.
	ValueStats *metrics.ValueStats

	// KeyPrefix is prepended to every counter key.
	KeyPrefix string
	// KeyEncoding is how counter keys join their parts; the engines of an
	// async replica must use the same.
	KeyEncoding policy.KeyEncoding

	// ShadowMode answers OK overall whatever the limits say, counting what
	// would have been limited (global_shadow_mode).
	ShadowMode bool

	// QuotaMode makes every descriptor a quota_mode one (envoyproxy/ratelimit's
	// QUOTA_MODE): over its limit it is reported, never denied.
	QuotaMode bool

	// HealthyWithoutPolicies keeps health SERVING while no domain is in
	// force (envoyproxy/ratelimit's FORCE_START_WITHOUT_INITIAL_CONFIG);
	// by default such a service is not healthy.
	HealthyWithoutPolicies bool

	// NearLimitRatio is the fraction of a limit above which hits count as
	// near_limit; 0 means 0.8.
	NearLimitRatio float64

	// Headers adds RateLimit-* response headers when enabled.
	Headers HeaderOptions

	// Metadata is what responses carry as dynamic_metadata; the zero
	// value, none.
	Metadata MetadataMode

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	o.Stats = nullstats.Or(o.Stats)
	if o.NearLimitRatio <= 0 {
		o.NearLimitRatio = 0.8
	}
	o.Headers = o.Headers.withDefaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Service implements the RLS. It is safe for concurrent use; SetSnapshot
// swaps policies without blocking requests.
type Service struct {
	rlsv3.UnimplementedRateLimitServiceServer

	limiter    Limiter
	keys       policy.KeyFormat
	shadow     bool
	quota      bool // every descriptor in quota mode
	noPolicyOK bool // healthy while no domain is in force
	nearRatio  float64
	metadata   MetadataMode
	headers    HeaderOptions
	now        func() time.Time

	served   atomic.Pointer[served]
	stats    serviceStats
	rules    ruleStatsCache
	requests sync.Pool // *request
}

// NewService returns a Service with an empty snapshot: until policies are
// set, every descriptor is answered OK with no limit.
func NewService(opts Options) *Service {
	opts = opts.withDefaults()
	scope := opts.Stats.ScopeWithTags("ratelimit", opts.StatsTags).Scope("service")
	s := &Service{
		limiter:    opts.Limiter,
		keys:       keyFormat(opts),
		shadow:     opts.ShadowMode,
		quota:      opts.QuotaMode,
		noPolicyOK: opts.HealthyWithoutPolicies,
		nearRatio:  opts.NearLimitRatio,
		metadata:   opts.Metadata,
		headers:    opts.Headers,
		now:        opts.Now,
		stats:      newServiceStats(scope),
		rules:      newRuleStatsCache(opts.Stats, scope.Scope("rate_limit"), "ratelimit.service.rate_limit", opts.ValueStats, opts.StatsTags),
	}
	s.requests.New = func() any { return new(request) }
	s.served.Store(s.newServed(nil))
	return s
}

// SetSnapshot makes snap the policies in force for every later request.
func (s *Service) SetSnapshot(snap *policy.Snapshot) {
	s.served.Store(s.newServed(snap))
	s.stats.configLoadSuccess.Inc()
}

// RejectSnapshot counts a policy load that failed; the snapshot in force
// stays.
func (s *Service) RejectSnapshot() { s.stats.configLoadError.Inc() }

// Snapshot returns the policies in force, or nil before the first load.
func (s *Service) Snapshot() *policy.Snapshot { return s.served.Load().snap }

// Register adds the RLS to a gRPC server; a request that does not decode
// is answered InvalidArgument.
func (s *Service) Register(g *grpc.Server) {
	g.RegisterService(invalidArgumentOnDecode(&rlsv3.RateLimitService_ServiceDesc), s)
}

// ShouldRateLimit answers one request of Envoy's ratelimit filter.
func (s *Service) ShouldRateLimit(ctx context.Context, req *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	if req.GetDomain() == "" {
		s.stats.invalidRequest.Inc()
		return nil, status.Error(codes.InvalidArgument, "rate limit domain must not be empty")
	}
	if len(req.GetDescriptors()) == 0 {
		s.stats.invalidRequest.Inc()
		return nil, status.Errorf(codes.InvalidArgument, "rate limit descriptor list must not be empty (domain %q)", req.GetDomain())
	}
	r := s.requests.Get().(*request)
	defer s.putRequest(r)

	now := s.now()
	r.served = s.served.Load()
	r.match(s, req, now)
	if len(r.items) > 0 && s.limiter != nil {
		if err := s.limiter.Limit(ctx, r.items); err != nil {
			s.stats.limiterError.Inc()
			return nil, status.Errorf(codes.Unavailable, "domain %q: counting hits: %v", req.GetDomain(), err)
		}
	}
	resp := r.respond(s, req, now)
	if s.shadow && resp.OverallCode == rlsv3.RateLimitResponse_OVER_LIMIT {
		s.stats.globalShadowMode.Inc()
		resp.OverallCode = rlsv3.RateLimitResponse_OK
	}
	return resp, nil
}

func (s *Service) putRequest(r *request) {
	r.reset()
	s.requests.Put(r)
}
