package ratelimit

import (
	"regexp"
	"strings"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	"github.com/floodgate/floodgate/policy"
)

// descriptorStatsKey is the stats key of a rule named by request values,
// after prefix, as envoyproxy/ratelimit's GetLimit names it
// (src/config/config_impl.go):
//   - a descriptor's own limit (limit nil): "domain.k1_v1.k2", the value
//     left out where empty;
//   - detailed_metric: "domain.k1_v1.k2_v2", every value, empty or not;
//     when a level has share_threshold, that level is named by its
//     wildcard ("k1_foo*") and empty values are left out;
//   - value_to_metric: each level named as configured (its exact value,
//     its wildcard, or its key alone), except that a wildcard or key-only
//     level with value_to_metric takes the request's value, unless
//     share_threshold keeps the wildcard.
//
// The key is sanitized as envoyproxy/ratelimit's stats manager does.
func descriptorStatsKey(prefix, domain string, entries []*ratelimitv3.RateLimitDescriptor_Entry, l *policy.Limit) string {
	b := make([]byte, 0, 64)
	b = append(b, domain...)
	shared := l != nil && hasShared(l)
	for i, e := range entries {
		b = append(b, '.')
		b = append(b, e.GetKey()...)
		v := e.GetValue()
		switch {
		case l == nil:
		case i < len(l.SharedValue) && l.SharedValue[i] != "":
			v = l.SharedValue[i]
		case l.DetailedMetric && !shared:
			b = append(b, '_')
			b = append(b, v...)
			continue
		case l.DetailedMetric:
		default:
			v = valueToMetricValue(l, i, v)
		}
		if v != "" {
			b = append(b, '_')
			b = append(b, v...)
		}
	}
	return prefix + sanitizeStatName(string(b))
}

// valueToMetricValue names level i of a value_to_metric key: its
// configured value, or the request's where value_to_metric asks for it and
// the configured one is a wildcard or absent.
func valueToMetricValue(l *policy.Limit, i int, requestValue string) string {
	configured := ""
	if i < len(l.ConfiguredValue) {
		configured = l.ConfiguredValue[i]
	}
	toMetric := i < len(l.ValueToMetric) && l.ValueToMetric[i]
	if toMetric && (configured == "" || strings.Contains(configured, "*")) {
		return requestValue
	}
	return configured
}

func hasShared(l *policy.Limit) bool {
	for _, v := range l.SharedValue {
		if v != "" {
			return true
		}
	}
	return false
}

// ipv4InStat matches the addresses whose dots envoyproxy/ratelimit turns
// into underscores (src/utils/utilities.go, SanitizeStatName).
var ipv4InStat = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)

// sanitizeStatName is envoyproxy/ratelimit's SanitizeStatName: ':' and
// '|' become '_' (statsd separators), and so do the dots of IPv4
// addresses, which would otherwise split the name. Other dots stay. The
// common case, nothing to change, costs no allocation.
func sanitizeStatName(s string) string {
	if strings.ContainsAny(s, ":|") {
		s = statSeparators.Replace(s)
	}
	if !mayHoldIPv4(s) {
		return s
	}
	return ipv4InStat.ReplaceAllStringFunc(s, func(ip string) string {
		return strings.ReplaceAll(ip, ".", "_")
	})
}

var statSeparators = strings.NewReplacer(":", "_", "|", "_")

// mayHoldIPv4 reports whether s has a dot between two digits, without
// which ipv4InStat cannot match.
func mayHoldIPv4(s string) bool {
	for i := 1; i+1 < len(s); i++ {
		if s[i] == '.' && isDigit(s[i-1]) && isDigit(s[i+1]) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
