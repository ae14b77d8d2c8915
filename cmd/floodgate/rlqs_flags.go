package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
	"github.com/floodgate/floodgate/ratelimit/rlqs"
)

// rlqsFlags configure the RLQS (Envoy's rate_limit_quota filter) served
// beside ShouldRateLimit.
type rlqsFlags struct {
	enabled bool
	noRule  string
	wait    time.Duration
}

func (f *rlqsFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.enabled, "rlqs", true, "serve Envoy's Rate Limit Quota Service (the rate_limit_quota filter) on the gRPC port, in lease mode")
	fs.StringVar(&f.noRule, "rlqs-no-rule", "allow", "what an RLQS bucket that matches no rule is assigned: allow (ALLOW_ALL) or deny (DENY_ALL)")
	fs.DurationVar(&f.wait, "rlqs-wait", 50*time.Millisecond, "how long an RLQS report waits for the engines' grants before it is answered without them")
}

// serve puts the RLQS on srv over the replica's leases. Its streams get a
// TTL of 0 and end before the servers drain, so that a planned stop moves
// every Envoy to its fallback at once.
// It returns nil when the RLQS is not served.
func (f *rlqsFlags) serve(srv *serving.Server, svc *ratelimit.Service, lim ratelimit.Limiter, stats gostats.Scope) (*rlqs.Server, error) {
	if !f.enabled {
		return nil, nil
	}
	var rule typev3.RateLimitStrategy_BlanketRule
	switch strings.ToLower(f.noRule) {
	case "allow":
		rule = typev3.RateLimitStrategy_ALLOW_ALL
	case "deny":
		rule = typev3.RateLimitStrategy_DENY_ALL
	default:
		return nil, fmt.Errorf("--rlqs-no-rule %q: want allow or deny", f.noRule)
	}
	rl, ok := lim.(*replica.Limiter)
	if !ok || !rl.Leasing() {
		slog.Info("rlqs not served: Envoy's buckets are filled from leases (--mode async --async-mode lease)")
		return nil, nil
	}
	s := rlqs.New(rlqs.Options{Service: svc, Leases: rl, NoRule: rule, Wait: f.wait, Stats: stats, Logger: slog.Default()})
	s.Register(srv.GRPC)
	srv.BeforeStop(s.Stop)
	return s, nil
}
