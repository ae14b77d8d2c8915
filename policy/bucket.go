package policy

import "sort"

// BucketKeys orders the keys of an unordered set of entries (an Envoy RLQS
// BucketId) the way domain's descriptor tree names them: at each level the
// entry whose key the level names, followed into the descriptor its value
// matches, as Find follows a request's entries. Keys the tree does not name
// are left out; it stops at the first level that names none of the rest.
// Where a level names several of the keys, the first in sorted order whose
// value matches a descriptor is taken, so that the order never depends on
// map iteration. Nil when the domain names none of them.
func BucketKeys(s *Snapshot, domain string, bucket map[string]string) []string {
	if s == nil || len(bucket) == 0 {
		return nil
	}
	keys := make([]string, 0, len(bucket))
	for k := range bucket {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	used := make([]bool, len(keys))
	var out []string
	level := s.domains[domain]
	for level != nil {
		var next *node
		for i, k := range keys {
			if used[i] {
				continue
			}
			g := level[k]
			if g == nil {
				continue
			}
			if n := g.match(bucket[k]); n != nil {
				used[i], next = true, n
				out = append(out, k)
				break
			}
		}
		if next == nil {
			break
		}
		level = next.children
	}
	return out
}
