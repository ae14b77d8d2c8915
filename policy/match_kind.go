package policy

import "strings"

// MatchKind is how a descriptor's value is compared with a request's.
type MatchKind uint8

const (
	// MatchExact compares values exactly; a value with '*' is a wildcard,
	// as in envoyproxy/ratelimit. It is the default.
	MatchExact MatchKind = iota
	// MatchCIDR matches an IP address inside a prefix (IPv4 or IPv6).
	MatchCIDR
	// MatchRegex matches the whole value against an RE2 expression that is
	// anchored at both ends (see checkRegex).
	MatchRegex
)

var matchNames = [...]string{"exact", "cidr", "regex"}

const matchChoices = "exact, cidr or regex"

func (m MatchKind) String() string {
	if int(m) < len(matchNames) {
		return matchNames[m]
	}
	return "unknown"
}

// ParseMatchKind reads a `match` value, case-insensitively; "" is exact.
func ParseMatchKind(s string) (MatchKind, bool) {
	if s == "" {
		return MatchExact, true
	}
	for i, n := range matchNames {
		if strings.EqualFold(s, n) {
			return MatchKind(i), true
		}
	}
	return MatchExact, false
}
