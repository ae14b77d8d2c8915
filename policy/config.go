package policy

import "strconv"

// Config is one domain's policies as written in one YAML file (or pushed over
// xDS or the admin API). It is the source form; Compile turns a set of
// Configs into a Snapshot.
type Config struct {
	Domain      string
	Descriptors []Descriptor
	// Source names where the config came from ("examples/api.yaml",
	// "xds:node-1", "admin") and prefixes every error about it.
	Source string

	domainAt position // where `domain` was written; zero when not parsed
	warnings Errors   // what a lenient parse tolerated
	merged   []string // sources of the configs merged into this one, after Source
}

// Warnings are the problems a lenient load tolerated in this config, each
// naming file:line; strict loading rejects them as errors.
func (c *Config) Warnings() Errors { return c.warnings }

// Sources names every file this config was read from: Source and, for a
// domain merged from several files, the others.
func (c *Config) Sources() []string {
	return append([]string{c.Source}, c.merged...)
}

// Descriptor is one level of the descriptor tree.
type Descriptor struct {
	Key   string
	Value string // "" for key-only; may hold '*' wildcards
	// Match is how Value is compared, as written: "" or "exact" (the
	// default, with '*' wildcards), "cidr" or "regex"; validated by Compile.
	Match     string
	RateLimit *RateLimit
	// RateLimits are several limits a request must all pass; a descriptor
	// has RateLimit or RateLimits, never both. Each needs a Name.
	RateLimits     []RateLimit
	Descriptors    []Descriptor
	ShadowMode     bool
	DetailedMetric bool
	ValueToMetric  bool
	ShareThreshold bool
	QuotaMode      bool
	Metadata       map[string]any

	// Line and Column locate the descriptor in its source (1-based; 0 when
	// the source has no positions).
	Line, Column int

	// fieldAt records, for a parsed descriptor, where each field was written
	// ("value", "rate_limit.unit", ...), so errors can point at the field and
	// tell "absent" from "zero". Nil for descriptors built in code.
	fieldAt map[string]position
}

// at returns where field was written, falling back to the descriptor itself,
// and whether the field was written at all.
func (d *Descriptor) at(field string) (position, bool) {
	if p, ok := d.fieldAt[field]; ok {
		return p, true
	}
	return position{line: d.Line, col: d.Column}, false
}

// RateLimit is the rate_limit block of a descriptor.
type RateLimit struct {
	Name            string
	RequestsPerUnit uint32
	Unit            string // as written; validated by Compile
	Unlimited       bool
	Replaces        []string
	// Algorithm is as written: "" (fixed_window), "fixed_window",
	// "sliding_window" or "token_bucket"; validated by Compile.
	Algorithm string
	// Burst is a token bucket's size; 0 when not written (then
	// RequestsPerUnit).
	Burst uint32
	// UnitMultiplier makes windows of that many units; 0 when not written
	// (one unit).
	UnitMultiplier uint32
	// Scope is as written: "" (datacenter), "datacenter" or "global";
	// validated by Compile.
	Scope string
}

// limitAt is one configured limit of a descriptor with the prefix its
// fields' positions are recorded under ("rate_limit." or "rate_limits.2.").
type limitAt struct {
	rl     *RateLimit
	prefix string
}

// limits lists the descriptor's rate_limit or rate_limits entries.
func (d *Descriptor) limits() []limitAt {
	if d.RateLimit != nil {
		return []limitAt{{d.RateLimit, "rate_limit."}}
	}
	out := make([]limitAt, len(d.RateLimits))
	for i := range d.RateLimits {
		out[i] = limitAt{&d.RateLimits[i], "rate_limits." + strconv.Itoa(i) + "."}
	}
	return out
}

// hasLimit reports whether the descriptor configures any limit.
func (d *Descriptor) hasLimit() bool { return d.RateLimit != nil || len(d.RateLimits) > 0 }
