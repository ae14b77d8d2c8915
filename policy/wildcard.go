package policy

import "strings"

// wildcard is a configured value with '*' in it, each '*' matching any run
// of characters (including none). It is split once at compile time so that
// matching is a few prefix/suffix/index calls and never allocates.
type wildcard struct {
	pattern string   // as configured, e.g. "foo*bar*"
	prefix  string   // text before the first '*'
	middle  []string // texts between stars, to be found in order
	suffix  string   // text after the last '*'
	minLen  int      // a shorter value cannot match
}

func newWildcard(pattern string) wildcard {
	parts := strings.Split(pattern, "*")
	w := wildcard{
		pattern: pattern,
		prefix:  parts[0],
		suffix:  parts[len(parts)-1],
	}
	for _, p := range parts[1 : len(parts)-1] {
		if p != "" {
			w.middle = append(w.middle, p)
		}
	}
	for _, p := range parts {
		w.minLen += len(p)
	}
	return w
}

// match reports whether v matches. Taking each middle part at its leftmost
// place is enough: with only '*' a match never needs a later one.
func (w *wildcard) match(v string) bool {
	if len(v) < w.minLen || !strings.HasPrefix(v, w.prefix) || !strings.HasSuffix(v, w.suffix) {
		return false
	}
	rest := v[len(w.prefix) : len(v)-len(w.suffix)]
	for _, m := range w.middle {
		i := strings.Index(rest, m)
		if i < 0 {
			return false
		}
		rest = rest[i+len(m):]
	}
	return true
}
