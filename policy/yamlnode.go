package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// nodeBudget bounds the work of reading one document: aliases can make a
// small file expand into an enormous tree. Without aliases a document has
// fewer nodes than bytes, so the budget never limits an honest file.
func nodeBudget(size int) int { return 1<<16 + 4*size }

// field is one key/value pair of a YAML map, after merge keys are applied.
type field struct {
	name     string
	key, val *yaml.Node
}

// reader walks the YAML node tree of one source and collects every problem
// instead of stopping at the first.
type reader struct {
	source string
	errs   Errors
	// lenient accepts what envoyproxy/ratelimit accepts, recording a
	// warning in warns where Floodgate would reject.
	lenient bool
	warns   Errors
	budget  int
	spent   bool // the budget ran out and that has been reported
}

// warnAt records a tolerated problem: an error in strict reading.
func (r *reader) warnAt(n *yaml.Node, path, format string, args ...any) {
	r.warns = append(r.warns, &Error{
		Source: r.source, Line: n.Line, Column: n.Column,
		Descriptor: path, Problem: fmt.Sprintf(format, args...),
	})
}

func (r *reader) errorAt(n *yaml.Node, path, format string, args ...any) {
	r.errs = append(r.errs, &Error{
		Source: r.source, Line: n.Line, Column: n.Column,
		Descriptor: path, Problem: fmt.Sprintf(format, args...),
	})
}

// spend charges one node against the budget and reports when it runs out.
func (r *reader) spend(n *yaml.Node) bool {
	r.budget--
	if r.budget >= 0 {
		return true
	}
	if !r.spent {
		r.spent = true
		r.errorAt(n, "", "document is too large once aliases are expanded")
	}
	return false
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// kindName names what a node holds, for error messages.
func kindName(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a map"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	case n.Kind == yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number " + n.Value
		}
		return "the string " + strconv.Quote(n.Value)
	}
	return "an unexpected node"
}

// fields lists the pairs of map m. It applies YAML merge keys (`<<: *base`,
// explicit keys win), and reports non-string and repeated keys.
func (r *reader) fields(m *yaml.Node, path string) []field {
	var out []field
	index := map[string]int{}
	fromMerge := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		if k == nil || v == nil || !r.spend(k) {
			return out
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			for _, mf := range r.mergeSources(v, path) {
				if j, ok := index[mf.name]; ok {
					out[j] = mf
					continue
				}
				index[mf.name] = len(out)
				fromMerge[mf.name] = true
				out = append(out, mf)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			r.errorAt(k, path, "key %s is not a string", strings.TrimPrefix(kindName(k), "a number "))
			continue
		}
		f := field{name: k.Value, key: k, val: v}
		if j, ok := index[f.name]; ok {
			if fromMerge[f.name] {
				out[j], fromMerge[f.name] = f, false
				continue
			}
			r.errorAt(k, path, "key %q is repeated (first at line %d)", f.name, out[j].key.Line)
			continue
		}
		index[f.name] = len(out)
		out = append(out, f)
	}
	return out
}

// mergeSources reads the value of a `<<` key: one map or a list of maps.
func (r *reader) mergeSources(v *yaml.Node, path string) []field {
	switch v.Kind {
	case yaml.MappingNode:
		return r.fields(v, path)
	case yaml.SequenceNode:
		var out []field
		for _, item := range v.Content {
			item = resolve(item)
			if item == nil || item.Kind != yaml.MappingNode {
				r.errorAt(v, path, "merge key << needs maps, got %s", kindName(item))
				continue
			}
			out = append(out, r.fields(item, path)...)
		}
		return out
	}
	r.errorAt(v, path, "merge key << needs a map, got %s", kindName(v))
	return nil
}

// str reads a scalar as text; like envoyproxy/ratelimit, `key: 42` is the
// string "42". ok is false (and the problem reported) for maps and lists.
func (r *reader) str(f field, path string) (string, bool) {
	if isNull(f.val) {
		return "", true
	}
	if f.val.Kind != yaml.ScalarNode {
		r.errorAt(f.val, path, "%s must be a string, got %s", f.name, kindName(f.val))
		return "", false
	}
	return f.val.Value, true
}

func (r *reader) boolean(f field, path string) (bool, bool) {
	if isNull(f.val) {
		return false, true
	}
	var b bool
	if f.val.Kind != yaml.ScalarNode || f.val.Decode(&b) != nil {
		r.errorAt(f.val, path, "%s must be true or false, got %s", f.name, kindName(f.val))
		return false, false
	}
	return b, true
}

// count reads requests_per_unit: a whole number from 0 to 2^32-1.
func (r *reader) count(f field, path string) (uint32, bool) {
	v := f.val
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!float" {
			if strings.Trim(v.Value, "0123456789_") == "" {
				// Digits only, yet not an int: too big for int64.
				r.errorAt(v, path, "%s %s is too large (at most %d)", f.name, v.Value, uint32(math.MaxUint32))
				return 0, false
			}
			r.errorAt(v, path, "%s must be a whole number, got %s", f.name, v.Value)
		} else {
			r.errorAt(v, path, "%s must be a whole number, got %s", f.name, kindName(v))
		}
		return 0, false
	}
	if strings.HasPrefix(strings.TrimSpace(v.Value), "-") {
		var n int64
		if v.Decode(&n) == nil && n == 0 {
			return 0, true
		}
		r.errorAt(v, path, "%s must not be negative, got %s", f.name, v.Value)
		return 0, false
	}
	var n uint64
	if err := v.Decode(&n); err != nil || n > math.MaxUint32 {
		r.errorAt(v, path, "%s %s is too large (at most %d)", f.name, v.Value, uint32(math.MaxUint32))
		return 0, false
	}
	return uint32(n), true
}

// plain turns a YAML subtree into the plain Go values (map[string]any,
// []any, string, int64, float64, bool, nil) that Envoy's dynamic metadata
// can carry.
func (r *reader) plain(n *yaml.Node, path string) (any, bool) {
	n = resolve(n)
	if n == nil || !r.spend(n) {
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		ok := true
		for _, f := range r.fields(n, path) {
			v, good := r.plain(f.val, path)
			ok = ok && good
			m[f.name] = v
		}
		return m, ok && !r.spent
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		ok := true
		for _, item := range n.Content {
			v, good := r.plain(item, path)
			ok = ok && good
			l = append(l, v)
		}
		return l, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b, true
			}
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return i, true
			}
		case "!!float":
			var x float64
			if n.Decode(&x) == nil {
				return x, true
			}
		}
		return n.Value, true
	}
	r.errorAt(n, path, "metadata holds %s", kindName(n))
	return nil, false
}

// suggest names the known key closest to a misspelt one, if any is close.
func suggest(name string, known []string) string {
	best, bestDist := "", min(3, (len(name)+1)/2)
	for _, k := range known {
		if d := editDistance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance, enough to catch typos.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
