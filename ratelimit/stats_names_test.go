package ratelimit

import (
	"slices"
	"strings"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

const namesPolicy = `
domain: names
descriptors:
  - key: remote_address
    value: "10.0.0.1"
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: path
    value: "GET:/a|b"
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: tenant
    value: "t*"
    share_threshold: true
    detailed_metric: true
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: user
    detailed_metric: true
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: route
    value: r1
    descriptors:
      - key: method
        value_to_metric: true
        rate_limit: {unit: minute, requests_per_unit: 5}
  - key: zone
    value: "z*"
    descriptors:
      - key: op
        value_to_metric: true
        rate_limit: {unit: minute, requests_per_unit: 5}
`

// The stats a ShouldRateLimit call makes carry the names
// envoyproxy/ratelimit gives them, written here from its source at
// v1.4.1-0.20260122083618-3fb702589d36:
//   - src/stats/manager_impl.go: rules under ratelimit.service.rate_limit,
//     their keys sanitized by src/utils/utilities.go's SanitizeStatName
//     (':' and '|' to '_', and the dots of IPv4 addresses);
//     <domain>.domain_not_found for a domain no config names;
//   - src/config/config_impl.go GetLimit: detailed_metric keys by the
//     request's values, a share_threshold level by its wildcard,
//     value_to_metric keys by the configured path with the request's value
//     at its level; a descriptor's own limit by descriptorKey;
//   - src/metrics/metrics.go: ratelimit_server.<Method>.total_requests and
//     the timer .response_time, from the server's interceptor.
func TestStatNamesAreEnvoyproxyRatelimits(t *testing.T) {
	r := startRLS(t, Options{}, namesPolicy)
	override := desc("k", "a:b")
	override.Limit = &ratelimitv3.RateLimitDescriptor_RateLimitOverride{RequestsPerUnit: 5, Unit: typev3.RateLimitUnit_MINUTE}
	r.call(t, "names",
		desc("remote_address", "10.0.0.1"),
		desc("path", "GET:/a|b"),
		desc("tenant", "t42"),
		desc("user", "1.2.3.4:80"),
		desc("route", "r1", "method", "GET"),
		desc("zone", "z9", "op", "read"),
		override)
	r.call(t, "nope.io:1", desc("any", "x"), desc("other", "y"))

	const rl = "ratelimit.service.rate_limit."
	for _, rule := range []string{
		"names.remote_address_10_0_0_1",
		"names.path_GET_/a_b",
		"names.tenant_t*",
		"names.user_1_2_3_4_80",
		"names.route_r1.method_GET",
		"names.zone_z*.op_read",
		"names.k_a_b",
	} {
		if n := r.counter(rl + rule + ".total_hits"); n != 1 {
			t.Errorf("%s%s.total_hits = %d, want 1; counters: %s", rl, rule, n, r.counterNames())
		}
	}
	if n := r.counter(rl + "nope.io_1.domain_not_found"); n != 2 {
		t.Errorf("domain_not_found = %d, want one per descriptor (2); counters: %s", n, r.counterNames())
	}
	if n := r.counter("ratelimit_server.ShouldRateLimit.total_requests"); n != 2 {
		t.Errorf("ratelimit_server.ShouldRateLimit.total_requests = %d, want 2", n)
	}
	r.sink.mu.Lock()
	timed := r.sink.timers["ratelimit_server.ShouldRateLimit.response_time"]
	r.sink.mu.Unlock()
	if timed != 2 {
		t.Errorf("ratelimit_server.ShouldRateLimit.response_time has %d values, want 2", timed)
	}
	// The request's value never names a share_threshold rule: one key
	// however many values match the wildcard.
	if names := r.counterNames(); strings.Contains(names, "t42") {
		t.Errorf("a share_threshold rule is named by the request's value: %s", names)
	}
}

// EXTRA_TAGS tag the rules' stats, those named by request values and the
// server's, as gostats serializes tags.
func TestStatsExtraTags(t *testing.T) {
	tags := map[string]string{"env": "prod"}
	r := startRLS(t, Options{StatsTags: tags}, namesPolicy)
	r.call(t, "names", desc("remote_address", "10.0.0.1"), desc("user", "u1"))
	for _, name := range []string{
		"ratelimit.service.rate_limit.names.remote_address_10_0_0_1.total_hits.__env=prod",
		"ratelimit.service.rate_limit.names.user_u1.total_hits.__env=prod",
		"ratelimit_server.ShouldRateLimit.total_requests.__env=prod",
	} {
		if n := r.counter(name); n != 1 {
			t.Errorf("%s = %d, want 1; counters: %s", name, n, r.counterNames())
		}
	}
}

func (r *testRLS) counterNames() string {
	r.stats.Flush()
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	var names []string
	for n := range r.sink.counters {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, "\n")
}
