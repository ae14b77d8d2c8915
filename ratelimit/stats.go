package ratelimit

import (
	"math"
	"sync"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/metrics"
	"github.com/floodgate/floodgate/policy"
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

// ruleCounterNames are the names of a ruleStats' counters, in the order of
// its fields, then domain_not_found: the one counter of a per-value key
// named by an unknown domain. A counter never counted is never flushed, so
// rule keys show no domain_not_found and domain keys nothing else.
var ruleCounterNames = []string{"total_hits", "over_limit", "near_limit", "within_limit", "shadow_mode", "domain_not_found"}

const domainNotFoundCounter = 5

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

// ruleStatsOf makes the ruleStats of a per-value key from its counters.
func ruleStatsOf(k *metrics.ValueKey) any {
	return &ruleStats{
		totalHits:   k.Counter(0),
		overLimit:   k.Counter(1),
		nearLimit:   k.Counter(2),
		withinLimit: k.Counter(3),
		shadowMode:  k.Counter(4),
	}
}

// ruleStatsCache hands out ruleStats by key. Rules configured in the
// snapshot are created once per key in gostats, which keeps them for
// good. Keys made of request values (detailed_metric, value_to_metric, a
// descriptor's own limit) go to values instead: bounded, the rest counted
// under ratelimit.service.detailed_overflow, idle ones freed.
type ruleStatsCache struct {
	scope  gostats.Scope
	prefix string   // of values' names: the scope's full name and a dot
	byKey  sync.Map // string -> *ruleStats
	values *metrics.ValueStats
}

// newRuleStatsCache serves the rules' stats under scope, named prefix, and
// the per-value ones through values; with no values, through a ValueStats
// flushed into root's store. That store keeps every counter it is sent, so
// there keys are never freed: the first MaxKeys keep their counters and
// the rest overflow.
func newRuleStatsCache(root gostats.Scope, scope gostats.Scope, prefix string, values *metrics.ValueStats, tags map[string]string) ruleStatsCache {
	if values == nil {
		values = NewValueStats(metrics.ValueStatsOptions{IdleFlushes: math.MaxInt, Tags: tags})
		values.Attach(root.Store(), storeSink{root})
	}
	return ruleStatsCache{scope: scope, prefix: prefix + ".", values: values}
}

// NewValueStats returns the ValueStats a Service's per-value stats need
// (Options.ValueStats), its overflow key named as the service names it.
func NewValueStats(o metrics.ValueStatsOptions) *metrics.ValueStats {
	return metrics.NewValueStats(o, "ratelimit.service.detailed_overflow", ruleCounterNames)
}

// value returns the stats of a key made of request values, named by
// descriptorStatsKey; the name is built once, prefix included.
func (c *ruleStatsCache) value(domain string, entries []*ratelimitEntry, l *policy.Limit) *ruleStats {
	return c.values.Key(descriptorStatsKey(c.prefix, domain, entries, l), ruleStatsOf).Value.(*ruleStats)
}

// domainNotFound counts the descriptors of requests for a domain no policy
// names, as envoyproxy/ratelimit does under
// ratelimit.service.rate_limit.<domain>.domain_not_found; the domains
// come from requests, so they are held as per-value keys.
func (c *ruleStatsCache) domainNotFound(domain string) gostats.Counter {
	return c.values.Key(c.prefix+sanitizeStatName(domain), ruleStatsOf).Counter(domainNotFoundCounter)
}

// storeSink flushes into a gostats store's own counters.
type storeSink struct{ root gostats.Scope }

func (s storeSink) FlushCounter(name string, v uint64) { s.root.NewCounter(name).Add(v) }
func (s storeSink) FlushGauge(string, uint64)          {}
func (s storeSink) FlushTimer(string, float64)         {}

func (c *ruleStatsCache) get(key string) *ruleStats {
	if v, ok := c.byKey.Load(key); ok {
		return v.(*ruleStats)
	}
	v, _ := c.byKey.LoadOrStore(key, newRuleStats(c.scope, sanitizeStatName(key)))
	return v.(*ruleStats)
}

// serviceStats are the service-wide counters.
type serviceStats struct {
	configLoadSuccess gostats.Counter
	configLoadError   gostats.Counter
	limiterError      gostats.Counter
	invalidRequest    gostats.Counter
	globalShadowMode  gostats.Counter
	hitsClamped       gostats.Counter // descriptors whose hits were capped at policy.MaxHits
}

func newServiceStats(scope gostats.Scope) serviceStats {
	call := scope.Scope("call.should_rate_limit")
	return serviceStats{
		configLoadSuccess: scope.NewCounter("config_load_success"),
		configLoadError:   scope.NewCounter("config_load_error"),
		limiterError:      call.NewCounter("limiter_error"),
		invalidRequest:    call.NewCounter("invalid_request"),
		globalShadowMode:  scope.NewCounter("global_shadow_mode"),
		hitsClamped:       call.NewCounter("hits_clamped"),
	}
}
