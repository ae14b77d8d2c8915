package policy

import (
	"regexp"
	"strings"
)

// Snapshot is a compiled, immutable set of policies. A nil *Snapshot is
// valid and holds no domains.
type Snapshot struct {
	configs []*Config
	domains map[string]map[string]*keyGroup
	names   []string // domain names, sorted
	// warnings are what a lenient load tolerated (CompileWith).
	warnings Errors

	// Limits holds every compiled rule; Limit.Index is its position here.
	// It must not be modified.
	Limits []*Limit
}

// keyGroup holds the descriptors of one level that share a key. Looking up
// the group by key, then the value in a map, keeps Find's cost independent
// of how many siblings a level has; CIDRs are looked up by prefix length,
// and only wildcards and regexes are scanned, and only those of the
// request's key.
type keyGroup struct {
	exact    map[string]*node
	cidrs    *cidrTable    // nil when the key has no `match: cidr` value
	patterns []patternNode // wildcards and regexes, config order: the first match wins
	keyOnly  *node
}

// patternNode is a wildcard (re nil) or a `match: regex` value.
type patternNode struct {
	wildcard
	re *regexp.Regexp
	// literal is the text every match of re starts with: the regex is
	// anchored at the start, so a value without it is refused by one
	// comparison instead of a run of the regex engine.
	literal string
	node    *node
}

func newRegexNode(re *regexp.Regexp, n *node) patternNode {
	lit, _ := re.LiteralPrefix()
	return patternNode{re: re, literal: lit, node: n}
}

func (p *patternNode) match(v string) bool {
	if p.re != nil {
		return strings.HasPrefix(v, p.literal) && p.re.MatchString(v)
	}
	return p.wildcard.match(v)
}

// node is one configured descriptor.
type node struct {
	// limits are the descriptor's limits in config order: one for
	// rate_limit, several for rate_limits; nil when it has none.
	limits   []*Limit
	children map[string]*keyGroup // nil when it has no nested descriptors
}

// limit is the first of the node's limits, what a single-limit caller sees.
func (n *node) limit() *Limit {
	if len(n.limits) == 0 {
		return nil
	}
	return n.limits[0]
}

// match picks the descriptor for a request value: exact value, then the
// longest CIDR holding it, then the first matching wildcard or regex, then
// key-only. Without CIDRs and regexes this is envoyproxy/ratelimit's order.
func (g *keyGroup) match(value string) *node {
	if n, ok := g.exact[value]; ok {
		return n
	}
	if g.cidrs != nil {
		if n := g.cidrs.match(value); n != nil {
			return n
		}
	}
	for i := range g.patterns {
		if g.patterns[i].match(value) {
			return g.patterns[i].node
		}
	}
	return g.keyOnly
}

// Find returns the limit that applies to a request descriptor in domain, or
// nil. It follows the first descriptor that matches at each level without
// backtracking, and a limit applies only when it sits at the depth of the
// request's last entry. For a descriptor with rate_limits it is the first
// of them; FindAll returns them all. It does not allocate.
func Find[E Entry](s *Snapshot, domain string, entries []E) *Limit {
	if n := findNode(s, domain, entries); n != nil {
		return n.limit()
	}
	return nil
}

// FindAll returns every limit of the descriptor a request descriptor
// matches, in config order: one for rate_limit, several for rate_limits;
// nil when none applies. FindAll(...)[0] is Find(...). The slice is shared
// and must not be modified. It does not allocate.
func FindAll[E Entry](s *Snapshot, domain string, entries []E) []*Limit {
	if n := findNode(s, domain, entries); n != nil {
		return n.limits
	}
	return nil
}

// findNode is the descriptor Find and FindAll read the limits of.
func findNode[E Entry](s *Snapshot, domain string, entries []E) *node {
	if s == nil || len(entries) == 0 {
		return nil
	}
	level := s.domains[domain]
	last := len(entries) - 1
	for i, e := range entries {
		g := level[e.GetKey()]
		if g == nil {
			return nil
		}
		n := g.match(e.GetValue())
		if n == nil {
			return nil
		}
		if i == last {
			return n
		}
		if n.children == nil {
			return nil
		}
		level = n.children
	}
	return nil
}

// Configs returns the source configs, sorted by domain. They must not be
// modified.
func (s *Snapshot) Configs() []*Config {
	if s == nil {
		return nil
	}
	return s.configs
}

// HasDomain reports whether the snapshot has policies for domain d.
func (s *Snapshot) HasDomain(d string) bool {
	if s == nil {
		return false
	}
	_, ok := s.domains[d]
	return ok
}

// Domains returns the domain names, sorted. The slice must not be modified.
func (s *Snapshot) Domains() []string {
	if s == nil {
		return nil
	}
	return s.names
}

// Warnings are the problems the load that built the snapshot tolerated,
// each naming file:line; nil for a strict load.
func (s *Snapshot) Warnings() Errors {
	if s == nil {
		return nil
	}
	return s.warnings
}
