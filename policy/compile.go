package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Compile checks configs, each on its own and all together (a domain defined
// twice, replaces naming a rule its domain does not have), and builds the
// Snapshot that Find reads. Every problem is returned as Errors; the configs
// are not modified and stay reachable through Snapshot.Configs.
func Compile(configs []*Config) (*Snapshot, error) {
	return CompileWith(configs, CompileOptions{})
}

// CompileOptions change what Compile accepts; the zero value is Compile.
type CompileOptions struct {
	// Lenient accepts what envoyproxy/ratelimit accepts, with a warning
	// naming file:line: here a replaces entry naming no rule of its domain;
	// in LoadOptions also, while parsing, a key it knows written where it
	// has no meaning (a unit beside key, shadow_mode inside rate_limit),
	// metadata without rate_limit, and a second YAML document in a file.
	// Otherwise each is an error.
	Lenient bool
	// MergeDomains merges the configs of one domain into one, as
	// envoyproxy/ratelimit's MERGE_DOMAIN_CONFIG does: their top-level
	// descriptors are joined in config order, and a key/value pair at the top
	// level of two of them is an error. Without it a domain defined twice
	// is an error.
	MergeDomains bool
}

// CompileWith is Compile with options. The snapshot's Warnings collect what
// the configs' lenient parse and the compile tolerated.
func CompileWith(configs []*Config, opts CompileOptions) (*Snapshot, error) {
	var errs, warns Errors
	owner := map[string]*Config{}
	parts := map[string][]*Config{} // a domain's configs, in order
	kept := make([]*Config, 0, len(configs))
	for _, c := range configs {
		if c == nil {
			continue
		}
		errs = append(errs, checkConfig(c)...)
		warns = append(warns, c.warnings...)
		if c.Domain == "" {
			continue
		}
		if prev := owner[c.Domain]; prev != nil {
			if opts.MergeDomains {
				parts[c.Domain] = append(parts[c.Domain], c)
				continue
			}
			errs = append(errs, &Error{
				Source: c.Source, Line: c.domainAt.line, Column: c.domainAt.col,
				Problem: fmt.Sprintf("domain %q is already defined%s", c.Domain, definedIn(prev)),
			})
			continue
		}
		owner[c.Domain] = c
		parts[c.Domain] = []*Config{c}
		kept = append(kept, c)
	}
	for i, c := range kept {
		ps := parts[c.Domain]
		if len(ps) > 1 {
			errs = append(errs, checkMergedTopLevel(ps)...)
			kept[i] = mergeConfigs(ps)
		}
		bad := checkReplaces(ps)
		if opts.Lenient {
			warns = append(warns, bad...)
		} else {
			errs = append(errs, bad...)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}

	slices.SortFunc(kept, func(a, b *Config) int { return strings.Compare(a.Domain, b.Domain) })
	s := &Snapshot{
		configs:  kept,
		domains:  make(map[string]map[string]*keyGroup, len(kept)),
		names:    make([]string, 0, len(kept)),
		warnings: warns,
	}
	for _, c := range kept {
		b := builder{snap: s, domain: c.Domain}
		s.domains[c.Domain] = b.level(c.Descriptors, c.Domain, nil)
		s.names = append(s.names, c.Domain)
	}
	return s, nil
}

// checkMergedTopLevel reports a top-level key/value pair that two configs
// of one domain both define, at the later one: merging adds a file's
// descriptors beside the others, it does not combine two of them.
func checkMergedTopLevel(ps []*Config) Errors {
	type keyValue struct{ key, value string }
	type firstAt struct {
		source string
		line   int
	}
	seen := map[keyValue]firstAt{}
	var errs Errors
	for _, c := range ps {
		for i := range c.Descriptors {
			d := &c.Descriptors[i]
			kv := keyValue{d.Key, d.Value}
			if prev, ok := seen[kv]; ok && prev.source != c.Source {
				errs = append(errs, &Error{
					Source: c.Source, Line: d.Line, Column: d.Column, Descriptor: segment(d.Key, d.Value),
					Problem: fmt.Sprintf("duplicate descriptor in merged domain %q: %s already defined in %s%s",
						c.Domain, describe(d.Key, d.Value), prev.source, lineNote(prev.line)),
				})
				continue
			}
			if _, ok := seen[kv]; !ok {
				seen[kv] = firstAt{c.Source, d.Line}
			}
		}
	}
	return errs
}

// mergeConfigs joins the top-level descriptors of one domain's configs into
// a new Config named by the first; the configs are not modified.
func mergeConfigs(ps []*Config) *Config {
	m := &Config{Domain: ps[0].Domain, Source: ps[0].Source, domainAt: ps[0].domainAt}
	for _, c := range ps {
		m.Descriptors = append(m.Descriptors, c.Descriptors...)
		if c != ps[0] {
			m.merged = append(m.merged, c.Source)
		}
	}
	return m
}

func definedIn(c *Config) string {
	switch {
	case c.Source != "" && c.domainAt.line > 0:
		return fmt.Sprintf(" in %s:%d", c.Source, c.domainAt.line)
	case c.Source != "":
		return " in " + c.Source
	}
	return ""
}

// checkReplaces reports replaces entries naming no rate_limit of the domain
// whose configs are ps: replaces only ever acts between rules of one domain,
// so such an entry can never take effect and is almost surely a typo.
func checkReplaces(ps []*Config) Errors {
	names := map[string]bool{}
	for _, c := range ps {
		walk(c.Descriptors, "", func(d *Descriptor, _ string) {
			for _, la := range d.limits() {
				if la.rl.Name != "" {
					names[la.rl.Name] = true
				}
			}
		})
	}
	var errs Errors
	for _, c := range ps {
		ck := checker{source: c.Source}
		walk(c.Descriptors, "", func(d *Descriptor, path string) {
			for _, la := range d.limits() {
				for i, name := range la.rl.Replaces {
					if name != "" && name != la.rl.Name && !names[name] {
						at, _ := d.at(la.prefix + "replaces." + strconv.Itoa(i))
						ck.add(at, path, "replaces %q, but no rate_limit in domain %q has that name", name, c.Domain)
					}
				}
			}
		})
		errs = append(errs, ck.errs...)
	}
	return errs
}

// walk calls fn for every descriptor, depth first, with its path.
func walk(ds []Descriptor, parent string, fn func(d *Descriptor, path string)) {
	for i := range ds {
		d := &ds[i]
		path := joinPath(parent, segment(d.Key, d.Value))
		fn(d, path)
		walk(d.Descriptors, path, fn)
	}
}

// builder turns one domain's checked descriptors into the matching tree.
type builder struct {
	snap   *Snapshot
	domain string
}

// above describes the levels between the domain and the one being built.
type above struct {
	shared        []string
	valueToMetric []bool
	values        []string
}

func (b *builder) level(ds []Descriptor, statsPrefix string, up *above) map[string]*keyGroup {
	groups := make(map[string]*keyGroup, len(ds))
	if up == nil {
		up = &above{}
	}
	for i := range ds {
		d := &ds[i]
		g := groups[d.Key]
		if g == nil {
			g = &keyGroup{}
			groups[d.Key] = g
		}
		kind, _ := ParseMatchKind(d.Match)
		wild := kind == MatchExact && strings.Contains(d.Value, "*")
		shared := ""
		if d.ShareThreshold && d.Value != "" && (wild || kind != MatchExact) {
			shared = d.Value
		}
		here := &above{
			shared:        append(slices.Clip(up.shared), shared),
			valueToMetric: append(slices.Clip(up.valueToMetric), d.ValueToMetric),
			values:        append(slices.Clip(up.values), d.Value),
		}
		statsKey := statsPrefix + "." + segment(d.Key, d.Value)

		n := &node{}
		if d.RateLimit != nil {
			n.limits = []*Limit{b.limit(d, d.RateLimit, statsKey, false, here)}
		}
		for j := range d.RateLimits {
			n.limits = append(n.limits, b.limit(d, &d.RateLimits[j], statsKey+"."+d.RateLimits[j].Name, true, here))
		}
		if len(d.Descriptors) > 0 {
			n.children = b.level(d.Descriptors, statsKey, here)
		}
		switch {
		case d.Value == "":
			g.keyOnly = n
		case kind == MatchCIDR:
			// Checked before building: the parse cannot fail here.
			p, _ := parseCIDR(d.Value)
			if g.cidrs == nil {
				g.cidrs = &cidrTable{}
			}
			g.cidrs.add(p, n)
		case kind == MatchRegex:
			re, _ := compileRegex(d.Value)
			g.patterns = append(g.patterns, newRegexNode(re, n))
		case wild:
			g.patterns = append(g.patterns, patternNode{wildcard: newWildcard(d.Value), node: n})
		default:
			if g.exact == nil {
				g.exact = map[string]*node{}
			}
			g.exact[d.Value] = n
		}
	}
	return groups
}

// limit compiles one configured limit; inList marks an entry of
// rate_limits, whose counter is keyed by its name.
func (b *builder) limit(d *Descriptor, rl *RateLimit, statsKey string, inList bool, path *above) *Limit {
	unit, _ := ParseUnit(rl.Unit)
	if rl.Unlimited {
		unit = UnitUnknown
	}
	alg, _ := ParseAlgorithm(rl.Algorithm)
	scope, _ := ParseScope(rl.Scope)
	l := &Limit{
		Domain:          b.domain,
		Name:            rl.Name,
		RequestsPerUnit: rl.RequestsPerUnit,
		Unit:            unit,
		Algorithm:       alg,
		UnitMultiplier:  rl.UnitMultiplier,
		Scope:           scope,
		Unlimited:       rl.Unlimited,
		ShadowMode:      d.ShadowMode,
		QuotaMode:       d.QuotaMode,
		Replaces:        slices.Clone(rl.Replaces),
		DetailedMetric:  d.DetailedMetric,
		StatsKey:        statsKey,
		Depth:           len(path.shared),
		SharedValue:     slices.Clone(path.shared),
		ValueToMetric:   slices.Clone(path.valueToMetric),
		ConfiguredValue: slices.Clone(path.values),
		Metadata:        d.Metadata,
		Index:           len(b.snap.Limits),
	}
	if alg == TokenBucket {
		l.Burst = cmp.Or(rl.Burst, rl.RequestsPerUnit)
	}
	if inList {
		l.listName = rl.Name
	}
	l.keyTag = limitKeyTag(l)
	b.snap.Limits = append(b.snap.Limits, l)
	return l
}
