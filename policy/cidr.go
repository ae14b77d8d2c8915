package policy

import (
	"fmt"
	"net/netip"
	"slices"
)

// parseCIDR reads a `match: cidr` value. An IPv4-mapped IPv6 prefix
// (::ffff:10.0.0.0/104) is turned into its IPv4 prefix, since request
// addresses are unmapped before lookup. A prefix with host bits set is
// refused: 10.0.0.1/8 is most likely a typo, and naming 10.0.0.0/8 costs
// the writer nothing.
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: want an address and a prefix length, like 10.0.0.0/8 or 2001:db8::/32", s)
	}
	if p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: a zone has no place in a prefix", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: it has host bits set (did you mean %s?)", s, m)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, nil
}

// cidrTable finds the longest configured prefix holding an address. It keeps
// one hash map per prefix length in use, longest first, so a lookup costs at
// most one map probe per distinct length (33 for IPv4, 129 for IPv6), however
// many prefixes there are, and never allocates.
type cidrTable struct {
	v4, v6 []cidrLength
}

type cidrLength struct {
	bits     int
	prefixes map[netip.Prefix]*node
}

// add records prefix p; the first node added for a prefix wins (the checker
// rejects duplicates, so this only matters for configs it has not seen).
func (t *cidrTable) add(p netip.Prefix, n *node) {
	lens := &t.v6
	if p.Addr().Is4() {
		lens = &t.v4
	}
	i, found := slices.BinarySearchFunc(*lens, p.Bits(), func(l cidrLength, bits int) int { return bits - l.bits })
	if !found {
		*lens = slices.Insert(*lens, i, cidrLength{bits: p.Bits(), prefixes: map[netip.Prefix]*node{}})
	}
	if _, dup := (*lens)[i].prefixes[p]; !dup {
		(*lens)[i].prefixes[p] = n
	}
}

// match returns the node of the longest prefix holding value, or nil when
// value is not an IP address or no prefix holds it.
func (t *cidrTable) match(value string) *node {
	a, err := netip.ParseAddr(value)
	if err != nil {
		return nil
	}
	a = a.Unmap().WithZone("")
	lens := t.v6
	if a.Is4() {
		lens = t.v4
	}
	for _, l := range lens {
		p, _ := a.Prefix(l.bits)
		if n, ok := l.prefixes[p]; ok {
			return n
		}
	}
	return nil
}
