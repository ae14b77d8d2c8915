package ratelimit

import (
	"sync"

	gostats "github.com/lyft/gostats"
)

// ruleStats are the per-rule counters of envoyproxy/ratelimit, under
// ratelimit.service.rate_limit.<stats key>.
type ruleStats struct {
	totalHits   gostats.Counter
	overLimit   gostats.Counter
	nearLimit   gostats.Counter
	withinLimit gostats.Counter
	shadowMode  gostats.Counter
}

func newRuleStats(scope gostats.Scope, key string) *ruleStats {
	s := scope.Scope(key)
	return &ruleStats{
		totalHits:   s.NewCounter("total_hits"),
		overLimit:   s.NewCounter("over_limit"),
		nearLimit:   s.NewCounter("near_limit"),
		withinLimit: s.NewCounter("within_limit"),
		shadowMode:  s.NewCounter("shadow_mode"),
	}
}

// ruleStatsCache hands out ruleStats by key. Rules configured in the
// snapshot are created once per key; detailed metrics create one per
// distinct request key, as gostats keeps every counter anyway.
type ruleStatsCache struct {
	scope gostats.Scope
	byKey sync.Map // string -> *ruleStats
}

func (c *ruleStatsCache) get(key string) *ruleStats {
	if v, ok := c.byKey.Load(key); ok {
		return v.(*ruleStats)
	}
	v, _ := c.byKey.LoadOrStore(key, newRuleStats(c.scope, key))
	return v.(*ruleStats)
}

// serviceStats are the service-wide counters.
type serviceStats struct {
	configLoadSuccess gostats.Counter
	configLoadError   gostats.Counter
	limiterError      gostats.Counter
	invalidRequest    gostats.Counter
	globalShadowMode  gostats.Counter
}

func newServiceStats(scope gostats.Scope) serviceStats {
	call := scope.Scope("call.should_rate_limit")
	return serviceStats{
		configLoadSuccess: scope.NewCounter("config_load_success"),
		configLoadError:   scope.NewCounter("config_load_error"),
		limiterError:      call.NewCounter("limiter_error"),
		invalidRequest:    call.NewCounter("invalid_request"),
		globalShadowMode:  scope.NewCounter("global_shadow_mode"),
	}
}
