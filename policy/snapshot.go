package policy

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
// of how many siblings a level has; only wildcards are scanned, and only
// those of the request's key.
type keyGroup struct {
	exact     map[string]*node
	wildcards []wildcardNode // config order: the first match wins
	keyOnly   *node
}

type wildcardNode struct {
	wildcard
	node *node
}

// node is one configured descriptor.
type node struct {
	limit    *Limit               // nil when the descriptor has no rate_limit
	children map[string]*keyGroup // nil when it has no nested descriptors
}

// match picks the descriptor for a request value: exact value, then the
// first matching wildcard, then key-only, as envoyproxy/ratelimit does.
func (g *keyGroup) match(value string) *node {
	if n, ok := g.exact[value]; ok {
		return n
	}
	for i := range g.wildcards {
		if g.wildcards[i].match(value) {
			return g.wildcards[i].node
		}
	}
	return g.keyOnly
}

// Find returns the limit that applies to a request descriptor in domain, or
// nil. It follows the first descriptor that matches at each level without
// backtracking, and a limit applies only when it sits at the depth of the
// request's last entry. It does not allocate.
func Find[E Entry](s *Snapshot, domain string, entries []E) *Limit {
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
			return n.limit
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
