package policy

import "strconv"

// AppendCacheKey appends the counter key of a matched limit in the form of
// envoyproxy/ratelimit: prefix + "domain_k1_v1_k2_v2_" + window start. A
// level with share_threshold contributes its configured wildcard, so that
// every value it matches shares one counter. The RLS and the throttle engine
// both build keys here (through Resolve and AppendKey), so that a decision
// names the counter it is about.
func AppendCacheKey[E Entry](b []byte, prefix, domain string, entries []E, l *Limit, windowStart int64) []byte {
	b = append(b, prefix...)
	b = append(b, domain...)
	b = append(b, '_')
	for i, e := range entries {
		b = append(b, e.GetKey()...)
		b = append(b, '_')
		if l != nil && i < len(l.SharedValue) && l.SharedValue[i] != "" {
			b = append(b, l.SharedValue[i]...)
		} else {
			b = append(b, e.GetValue()...)
		}
		b = append(b, '_')
	}
	return strconv.AppendInt(b, windowStart, 10)
}
