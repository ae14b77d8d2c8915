package main

import (
	"flag"

	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
	gostats "github.com/lyft/gostats"
)

// rlsFlags are the flags of every role that answers ShouldRateLimit.
type rlsFlags struct {
	policies  policyFlags
	grpcAddr  string
	httpAddr  string
	tls       listenerTLSFlags
	prefix    string
	encoding  policy.KeyEncoding
	shadow    bool
	quota     quotaFlags
	stopIncr  stopIncrementFlag
	nearRatio float64
	headers   ratelimit.HeaderOptions
	metadata  metadataFlag
	stats     statsFlags
	log       logFlags
	serving   servingFlags
	rlqs      rlqsFlags
	dc        datacenterFlag
}

func (f *rlsFlags) register(fs *flag.FlagSet) {
	f.policies.register(fs)
	f.dc.register(fs)
	fs.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:8081", "gRPC `address` of the rate-limit service: host:port, or a unix socket unix:///path (removed at start if stale, and at stop)")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "HTTP `address` of /healthcheck, /json, /rlconfig and /metrics")
	f.tls.register(fs)
	fs.StringVar(&f.prefix, "key-prefix", "", "prefix of every counter key")
	fs.Var(&f.encoding, "key-encoding", "how counter keys join their parts: compat (as envoyproxy/ratelimit; ambiguous through '_') or unambiguous (length-prefixed parts; for new deployments). Engines need the same")
	fs.BoolVar(&f.shadow, "shadow-mode", false, "answer OK whatever the limits say, counting what would have been limited")
	f.quota.register(fs)
	f.stopIncr.register(fs)
	fs.Float64Var(&f.nearRatio, "near-limit-ratio", 0.8, "fraction of a limit above which hits count as near_limit")
	fs.BoolVar(&f.headers.Enabled, "response-headers", false, "add RateLimit-Limit/-Remaining/-Reset headers to responses")
	fs.StringVar(&f.headers.Limit, "header-limit", "RateLimit-Limit", "name of the limit header")
	fs.StringVar(&f.headers.Remaining, "header-remaining", "RateLimit-Remaining", "name of the remaining header")
	fs.StringVar(&f.headers.Reset, "header-reset", "RateLimit-Reset", "name of the reset header")
	fs.StringVar(&f.headers.Policy, "header-policy", "", "name of the IETF policy header (e.g. RateLimit-Policy); empty: not sent")
	fs.Var(&f.metadata, "response-dynamic-metadata", "dynamic_metadata of responses: true (envoyproxy/ratelimit's {domain, descriptors, hitsAddend, quotaModeViolations, quotaModeEnabled}), rules (the matched rules' metadata maps, merged) or false")
	f.stats.register(fs)
	f.log.register(fs)
	f.serving.register(fs, rlsMaxConnectionAge)
	f.rlqs.register(fs)
}

// newService builds the RLS these flags describe over limiter, and adds
// its /rlconfig to the debug listener, where envoyproxy/ratelimit has it.
func newService(f *rlsFlags, limiter ratelimit.Limiter, stats gostats.Scope) *ratelimit.Service {
	svc := ratelimit.NewService(ratelimit.Options{
		Limiter:                limiter,
		Stats:                  stats,
		StatsTags:              f.stats.tags,
		ValueStats:             f.stats.values,
		KeyPrefix:              f.prefix,
		KeyEncoding:            f.encoding,
		ShadowMode:             f.shadow,
		QuotaMode:              f.quota.global,
		HealthyWithoutPolicies: f.policies.early.healthyWithoutPolicies(),
		NearLimitRatio:         f.nearRatio,
		Headers:                f.headers,
		Metadata:               f.metadata.mode,
	})
	f.stats.debug.handle("/rlconfig", "print out the currently loaded configuration for debugging", svc.PoliciesHandler())
	return svc
}
