package policy

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
	Key            string
	Value          string // "" for key-only; may hold '*' wildcards
	RateLimit      *RateLimit
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
}
