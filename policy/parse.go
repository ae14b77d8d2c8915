package policy

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Where each key is valid. envoyproxy/ratelimit reads every key at exactly
// one of these levels; Floodgate adds metadata to descriptors.
var (
	topKeys        = []string{"domain", "descriptors"}
	descriptorKeys = []string{"key", "value", "match", "rate_limit", "rate_limits", "descriptors", "shadow_mode", "detailed_metric", "value_to_metric", "share_threshold", "quota_mode", "metadata"}
	rateLimitKeys  = []string{"unit", "requests_per_unit", "unlimited", "name", "replaces", "algorithm", "burst", "unit_multiplier", "scope"}
	replacesKeys   = []string{"name"}
	everyKnownKey  = append(append(append([]string{}, topKeys...), descriptorKeys...), rateLimitKeys...)
	// floodgateKeys are Floodgate's extensions that envoyproxy/ratelimit
	// does not know.
	floodgateKeys = []string{"metadata", "match", "rate_limits", "algorithm", "burst", "unit_multiplier", "scope"}
	// envoyKeys are the keys envoyproxy/ratelimit accepts at any level
	// (its validKeys): every key but Floodgate's own.
	envoyKeys       = slices.DeleteFunc(slices.Clone(everyKnownKey), func(k string) bool { return contains(floodgateKeys, k) })
	yamlErrorLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Parse reads one YAML document holding one domain's policies, in the format
// of envoyproxy/ratelimit. name is the source used in errors
// ("name:line:col: problem"). It checks everything that one document can get
// wrong and returns every problem as Errors; problems that need several
// documents together (a domain defined twice, replaces naming a rule that
// does not exist) are left to Compile.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, false)
}

// parse is Parse; lenient accepts what envoyproxy/ratelimit accepts (keys
// it knows written where it ignores them, metadata without rate_limit, a
// second YAML document) and records each as a warning on the Config.
func parse(name string, data []byte, lenient bool) (*Config, error) {
	r := &reader{source: name, budget: nodeBudget(len(data)), lenient: lenient}
	c := r.document(data)
	if c == nil {
		return nil, r.errs.err()
	}
	c.Source = name
	c.warnings = inFileOrder(r.warns)
	if errs := append(r.errs, checkConfig(c)...); len(errs) > 0 {
		return nil, inFileOrder(errs)
	}
	return c, nil
}

// inFileOrder sorts problems by position: reading and checking find them in
// different passes, and a reader wants them in file order.
func inFileOrder(es Errors) Errors {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return es
}

// document reads the single YAML document of a source. It returns nil when
// there is no map to read descriptors from.
func (r *reader) document(data []byte) (c *Config) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := decodeSafely(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			r.errs = append(r.errs, &Error{Source: r.source, Problem: "document is empty: want a map with domain and descriptors"})
		} else {
			r.errs = append(r.errs, yamlError(r.source, err))
		}
		return nil
	}
	var extra yaml.Node
	if err := decodeSafely(dec, &extra); err == nil {
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			if r.lenient {
				// envoyproxy/ratelimit unmarshals the first document only.
				r.warnAt(&extra, "", "a second YAML document is ignored: only the first is read (a file holds one domain)")
			} else {
				r.errorAt(&extra, "", "a file holds one domain, but this is a second YAML document")
			}
		}
	} else if !errors.Is(err, io.EOF) {
		if e := yamlError(r.source, err); r.lenient {
			e.Problem = "after the first YAML document, which alone is read: " + e.Problem
			r.warns = append(r.warns, e)
		} else {
			r.errs = append(r.errs, e)
		}
	}

	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = resolve(root.Content[0])
	}
	if root == nil || isNull(root) {
		r.errorAt(&doc, "", "document is empty: want a map with domain and descriptors")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		r.errorAt(root, "", "document must be a map with domain and descriptors, got %s", kindName(root))
		return nil
	}

	c = &Config{}
	domainSeen := false
	for _, f := range r.fields(root, "") {
		switch f.name {
		case "domain":
			domainSeen = true
			d, ok := r.str(f, "")
			c.Domain = d
			c.domainAt = position{line: f.key.Line, col: f.key.Column, invalid: !ok}
		case "descriptors":
			c.Descriptors = r.descriptors(f, "")
		default:
			r.unknownKey(f, "", "at the top level", topKeys)
		}
	}
	if !domainSeen {
		c.domainAt = position{line: root.Line, col: root.Column}
	}
	return c
}

// decodeSafely turns a panic inside the YAML library into an error: a policy
// file must never bring the process down.
func decodeSafely(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("yaml: %v", p)
		}
	}()
	return dec.Decode(n)
}

// yamlError turns a YAML syntax error into an *Error with its line.
func yamlError(source string, err error) *Error {
	msg := err.Error()
	if m := yamlErrorLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Source: source, Line: line, Problem: "invalid YAML: " + m[2]}
	}
	return &Error{Source: source, Problem: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// unknownKey reports a key that is not valid where it was written, and says
// where it belongs when it is valid elsewhere.
func (r *reader) unknownKey(f field, path, where string, valid []string) {
	if r.lenient && contains(envoyKeys, f.name) {
		// envoyproxy/ratelimit accepts any key it knows at any level and
		// ignores it where it has no meaning.
		r.warnAt(f.key, path, "key %q is ignored %s: %s", f.name, where, belongs(f.name))
		return
	}
	switch {
	case contains(rateLimitKeys, f.name):
		r.errorAt(f.key, path, "unknown key %q %s: it belongs inside rate_limit", f.name, where)
	case contains(descriptorKeys, f.name):
		r.errorAt(f.key, path, "unknown key %q %s: it belongs to a descriptor", f.name, where)
	case contains(topKeys, f.name):
		r.errorAt(f.key, path, "unknown key %q %s: it belongs at the top level", f.name, where)
	default:
		r.errorAt(f.key, path, "unknown key %q %s (valid: %s)%s", f.name, where,
			strings.Join(valid, ", "), suggest(f.name, everyKnownKey))
	}
}

// belongs says where a known key has its meaning.
func belongs(name string) string {
	switch {
	case contains(rateLimitKeys, name) && contains(descriptorKeys, name):
		return "it belongs inside rate_limit or to a descriptor"
	case contains(rateLimitKeys, name):
		return "it belongs inside rate_limit"
	case contains(descriptorKeys, name):
		return "it belongs to a descriptor"
	}
	return "it belongs at the top level"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// descriptors reads a `descriptors` list below the descriptor at path.
func (r *reader) descriptors(f field, path string) []Descriptor {
	if isNull(f.val) {
		return nil
	}
	if f.val.Kind != yaml.SequenceNode {
		r.errorAt(f.val, path, "descriptors must be a list, got %s", kindName(f.val))
		return nil
	}
	var out []Descriptor
	for _, item := range f.val.Content {
		n := resolve(item)
		if n == nil || n.Kind != yaml.MappingNode {
			r.errorAt(item, path, "each descriptors entry must be a map with a key, got %s", kindName(n))
			continue
		}
		if r.spent || !r.spend(n) {
			return out
		}
		out = append(out, r.descriptor(n, path))
	}
	return out
}

// descriptor reads one descriptor map; parent is the path above it.
func (r *reader) descriptor(n *yaml.Node, parent string) Descriptor {
	d := Descriptor{Line: n.Line, Column: n.Column, fieldAt: map[string]position{}}
	// The path names the descriptor in every error about it, including
	// errors about its map itself, so key and value are peeked at first.
	fields := r.fields(n, joinPath(parent, peekSegment(n)))
	for _, f := range fields {
		switch f.name {
		case "key", "value":
			s, ok := r.str(f, parent)
			d.fieldAt[f.name] = position{line: f.val.Line, col: f.val.Column, invalid: !ok}
			if f.name == "key" {
				d.Key = s
			} else {
				d.Value = s
			}
		}
	}
	path := joinPath(parent, segment(d.Key, d.Value))

	for _, f := range fields {
		at := position{line: f.key.Line, col: f.key.Column}
		ok := true
		switch f.name {
		case "key", "value":
			continue
		case "match":
			d.Match, ok = r.str(f, path)
		case "rate_limit":
			d.RateLimit, ok = r.rateLimit(f, &d, path)
		case "rate_limits":
			d.RateLimits, ok = r.rateLimits(f, &d, path)
		case "descriptors":
			d.Descriptors = r.descriptors(f, path)
		case "shadow_mode":
			d.ShadowMode, ok = r.boolean(f, path)
		case "detailed_metric":
			d.DetailedMetric, ok = r.boolean(f, path)
		case "value_to_metric":
			d.ValueToMetric, ok = r.boolean(f, path)
		case "share_threshold":
			d.ShareThreshold, ok = r.boolean(f, path)
		case "quota_mode":
			d.QuotaMode, ok = r.boolean(f, path)
		case "metadata":
			d.Metadata, ok = r.metadata(f, path)
		default:
			r.unknownKey(f, path, "in a descriptor", descriptorKeys)
			continue
		}
		at.invalid = !ok
		d.fieldAt[f.name] = at
	}
	if r.lenient && d.Metadata != nil && !d.hasLimit() {
		at := d.fieldAt["metadata"]
		r.warns = append(r.warns, &Error{Source: r.source, Line: at.line, Column: at.col, Descriptor: path,
			Problem: "metadata is ignored: it has no rate_limit to belong to"})
		d.Metadata = nil
		delete(d.fieldAt, "metadata")
	}
	return d
}

func (r *reader) metadata(f field, path string) (map[string]any, bool) {
	if isNull(f.val) {
		return nil, true
	}
	if f.val.Kind != yaml.MappingNode {
		r.errorAt(f.val, path, "metadata must be a map, got %s", kindName(f.val))
		return nil, false
	}
	v, ok := r.plain(f.val, path)
	m, _ := v.(map[string]any)
	return m, ok
}

// rateLimit reads a rate_limit block. A null block is no block, as in
// envoyproxy/ratelimit.
func (r *reader) rateLimit(f field, d *Descriptor, path string) (*RateLimit, bool) {
	if isNull(f.val) {
		return nil, true
	}
	if f.val.Kind != yaml.MappingNode {
		r.errorAt(f.val, path, "rate_limit must be a map, got %s", kindName(f.val))
		return nil, false
	}
	rl := &RateLimit{}
	r.rateLimitFields(f.val, rl, d, path, "rate_limit.")
	return rl, true
}

// rateLimits reads a rate_limits list: several rate_limit maps.
func (r *reader) rateLimits(f field, d *Descriptor, path string) ([]RateLimit, bool) {
	if isNull(f.val) {
		return nil, true
	}
	if f.val.Kind != yaml.SequenceNode {
		r.errorAt(f.val, path, "rate_limits must be a list of rate_limit maps, got %s", kindName(f.val))
		return nil, false
	}
	out := make([]RateLimit, 0, len(f.val.Content))
	ok := true
	for _, item := range f.val.Content {
		n := resolve(item)
		if n == nil || n.Kind != yaml.MappingNode {
			r.errorAt(item, path, "each rate_limits entry must be a map like {unit: second, requests_per_unit: 10, name: per_second}, got %s", kindName(n))
			ok = false
			continue
		}
		prefix := "rate_limits." + strconv.Itoa(len(out))
		d.fieldAt[prefix] = position{line: n.Line, col: n.Column}
		var rl RateLimit
		r.rateLimitFields(n, &rl, d, path, prefix+".")
		out = append(out, rl)
	}
	if len(out) == 0 {
		return nil, ok // an empty list is no list, as a null rate_limit is none
	}
	return out, ok
}

// rateLimitFields reads the fields of one rate_limit map into rl, recording
// their positions under prefix.
func (r *reader) rateLimitFields(m *yaml.Node, rl *RateLimit, d *Descriptor, path, prefix string) {
	for _, g := range r.fields(m, path) {
		at := position{line: g.key.Line, col: g.key.Column}
		ok := true
		switch g.name {
		case "unit":
			rl.Unit, ok = r.str(g, path)
		case "requests_per_unit":
			rl.RequestsPerUnit, ok = r.count(g, path)
		case "unlimited":
			rl.Unlimited, ok = r.boolean(g, path)
		case "name":
			rl.Name, ok = r.str(g, path)
		case "replaces":
			rl.Replaces, ok = r.replaces(g, d, path, prefix)
		case "algorithm":
			rl.Algorithm, ok = r.str(g, path)
		case "burst":
			rl.Burst, ok = r.count(g, path)
		case "unit_multiplier":
			rl.UnitMultiplier, ok = r.count(g, path)
		case "scope":
			rl.Scope, ok = r.str(g, path)
		default:
			r.unknownKey(g, path, "in rate_limit", rateLimitKeys)
			continue
		}
		at.invalid = !ok
		d.fieldAt[prefix+g.name] = at
	}
}

// replaces reads `replaces: [{name: x}, ...]`, recording where each entry
// sits so that a bad name can be pointed at.
func (r *reader) replaces(f field, d *Descriptor, path, prefix string) ([]string, bool) {
	if isNull(f.val) {
		return nil, true
	}
	if f.val.Kind != yaml.SequenceNode {
		r.errorAt(f.val, path, "replaces must be a list of {name: ...} maps, got %s", kindName(f.val))
		return nil, false
	}
	var names []string
	ok := true
	for _, item := range f.val.Content {
		n := resolve(item)
		if n == nil || n.Kind != yaml.MappingNode {
			r.errorAt(item, path, "each replaces entry must be a map like {name: other_limit}, got %s", kindName(n))
			ok = false
			continue
		}
		name, good := "", true
		for _, g := range r.fields(n, path) {
			if g.name != "name" {
				r.unknownKey(g, path, "in a replaces entry", replacesKeys)
				continue
			}
			name, good = r.str(g, path)
		}
		d.fieldAt[prefix+"replaces."+strconv.Itoa(len(names))] = position{line: n.Line, col: n.Column, invalid: !good}
		names = append(names, name)
	}
	return names, ok
}

// peekSegment reads key and value straight from a descriptor map, before
// the map is checked, to name the descriptor in errors about the map.
func peekSegment(n *yaml.Node) string {
	var key, value string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || v == nil || v.Kind != yaml.ScalarNode || isNull(v) {
			continue
		}
		switch k.Value {
		case "key":
			key = v.Value
		case "value":
			value = v.Value
		}
	}
	return segment(key, value)
}

// segment is how one descriptor level appears in paths and stats keys:
// "key" or "key_value", as in envoyproxy/ratelimit.
func segment(key, value string) string {
	if value == "" {
		return key
	}
	return key + "_" + value
}

func joinPath(parent, seg string) string {
	if parent == "" {
		return seg
	}
	return parent + "." + seg
}
