package policy

import "strings"

// Scope is where a limit is counted. The zero value is the datacenter:
// envoyproxy/ratelimit's behaviour, one count per counter store.
type Scope uint8

const (
	// ScopeDatacenter counts in the datacenter's own counter store: a limit
	// of L admits L in each datacenter.
	ScopeDatacenter Scope = iota
	// ScopeGlobal is one limit across every datacenter: each datacenter's
	// engines lease its tokens from the global tier (--global-redis).
	ScopeGlobal
)

var scopeNames = [...]string{"datacenter", "global"}

const scopeChoices = "datacenter or global"

// String is the name the YAML format uses.
func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return "unknown"
}

// ParseScope reads a scope name, case-insensitively; "" is the datacenter.
func ParseScope(s string) (Scope, bool) {
	if s == "" {
		return ScopeDatacenter, true
	}
	for i, n := range scopeNames {
		if strings.EqualFold(s, n) {
			return Scope(i), true
		}
	}
	return ScopeDatacenter, false
}

// Global reports whether the resolved limit is counted across datacenters:
// its rule says scope: global. A descriptor's own limit (an override) is
// always the datacenter's.
func (r *Resolved) Global() bool {
	return r.Limit != nil && !r.Override && r.Limit.Scope == ScopeGlobal
}
