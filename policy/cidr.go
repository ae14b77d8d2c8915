package policy

import (
	"encoding/binary"
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
// one hash map per prefix length in use, longest first, keyed by the masked
// address as integers, so a lookup costs at most one map probe per distinct
// length (33 for IPv4, 129 for IPv6), however many prefixes there are, and
// never allocates.
type cidrTable struct {
	v4 []cidrLength[uint32]
	v6 []cidrLength[[2]uint64]
}

type cidrLength[A comparable] struct {
	bits     int
	prefixes map[A]*node
}

// add records prefix p, already masked; the first node added for a prefix
// wins (the checker rejects duplicates, so this only matters for configs it
// has not seen).
func (t *cidrTable) add(p netip.Prefix, n *node) {
	if p.Addr().Is4() {
		t.v4 = addLength(t.v4, p.Bits(), v4Key(p.Addr(), p.Bits()), n)
	} else {
		t.v6 = addLength(t.v6, p.Bits(), v6Key(p.Addr(), p.Bits()), n)
	}
}

func addLength[A comparable](lens []cidrLength[A], bits int, key A, n *node) []cidrLength[A] {
	i, found := slices.BinarySearchFunc(lens, bits, func(l cidrLength[A], bits int) int { return bits - l.bits })
	if !found {
		lens = slices.Insert(lens, i, cidrLength[A]{bits: bits, prefixes: map[A]*node{}})
	}
	if _, dup := lens[i].prefixes[key]; !dup {
		lens[i].prefixes[key] = n
	}
	return lens
}

// match returns the node of the longest prefix holding value, or nil when
// value is not an IP address or no prefix holds it.
func (t *cidrTable) match(value string) *node {
	a, err := netip.ParseAddr(value)
	if err != nil {
		return nil
	}
	a = a.Unmap()
	if a.Is4() {
		for _, l := range t.v4 {
			if n, ok := l.prefixes[v4Key(a, l.bits)]; ok {
				return n
			}
		}
		return nil
	}
	for _, l := range t.v6 {
		if n, ok := l.prefixes[v6Key(a, l.bits)]; ok {
			return n
		}
	}
	return nil
}

// v4Key is the first bits bits of IPv4 address a, the rest zero.
func v4Key(a netip.Addr, bits int) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:]) & mask32(bits)
}

// v6Key is the first bits bits of IPv6 address a, the rest zero.
func v6Key(a netip.Addr, bits int) [2]uint64 {
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	if bits <= 64 {
		return [2]uint64{hi & mask64(bits), 0}
	}
	return [2]uint64{hi, lo & mask64(bits-64)}
}

func mask32(bits int) uint32 { return ^uint32(0) << (32 - bits) } // a shift by 32 gives 0
func mask64(bits int) uint64 { return ^uint64(0) << (64 - bits) }
