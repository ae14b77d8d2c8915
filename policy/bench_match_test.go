package policy

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// matchBenchSnapshot has one domain with, at its top level: 10 000 exact
// values of key "exact"; 10 000 CIDR rules of key "ip" (9 000 random IPv4
// prefixes below 224.0.0.0 of lengths 8 to 32 and 1 000 IPv6 ones of lengths 32 to 128
// under 2001:db8::/32); 1 000
// regexes of key "path", each anchored, differing in their first segment.
func matchBenchSnapshot(b *testing.B) *Snapshot {
	b.Helper()
	rl := &RateLimit{Unit: "second", RequestsPerUnit: 1}
	c := &Config{Domain: "bench"}
	for i := 0; i < 10000; i++ {
		c.Descriptors = append(c.Descriptors, Descriptor{Key: "exact", Value: fmt.Sprintf("value-%d", i), RateLimit: rl})
	}
	seen := map[netip.Prefix]bool{netip.MustParsePrefix("203.0.113.0/24"): true, netip.MustParsePrefix("2001:db8:1f4:db3::/64"): true}
	rng := rand.New(rand.NewPCG(1, 2)) // the same rules every run
	addPrefix := func(a netip.Addr, bits int) {
		p, _ := a.Prefix(bits)
		if !seen[p] {
			seen[p] = true
			c.Descriptors = append(c.Descriptors, Descriptor{Key: "ip", Value: p.String(), Match: "cidr", RateLimit: rl})
		}
	}
	for len(seen) < 9000 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], rng.Uint32())
		a[0] %= 224 // nothing above 224.0.0.0, for the miss
		addPrefix(netip.AddrFrom4(a), 8+rng.IntN(25))
	}
	c.Descriptors = append(c.Descriptors, Descriptor{Key: "ip", Value: "203.0.113.0/24", Match: "cidr", RateLimit: rl})
	for len(seen) < 10000 {
		var a [16]byte
		binary.BigEndian.PutUint64(a[:8], 0x20010db8<<32|rng.Uint64()>>32)
		binary.BigEndian.PutUint64(a[8:], rng.Uint64())
		addPrefix(netip.AddrFrom16(a), 32+rng.IntN(97))
	}
	c.Descriptors = append(c.Descriptors, Descriptor{Key: "ip", Value: "2001:db8:1f4:db3::/64", Match: "cidr", RateLimit: rl})
	for i := 0; i < 1000; i++ {
		c.Descriptors = append(c.Descriptors, Descriptor{Key: "path", Value: fmt.Sprintf("^/svc%d/v[0-9]+/items/[0-9]+$", i), Match: "regex", RateLimit: rl})
	}
	s, err := Compile([]*Config{c})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkFindMatch times Find, one request descriptor of one entry, on
// matchBenchSnapshot: an exact value (the baseline: one map lookup), CIDR
// lookups (IPv4 hit on a /24 among 9 000 IPv4 prefixes of 25 lengths, IPv4
// miss probing all 25 lengths, IPv6 hit, IPv4-mapped IPv6), and regexes
// (the first of 1 000 matching, the last matching after 999 failed, and a
// value none matches, which tries all 1 000).
func BenchmarkFindMatch(b *testing.B) {
	s := matchBenchSnapshot(b)
	cases := []struct {
		name  string
		entry []*entry
		hit   bool
	}{
		{"exact-10000", req("exact", "value-7777"), true},
		{"cidr-10000/ipv4-hit", req("ip", "203.0.113.77"), true},
		{"cidr-10000/ipv4-miss", req("ip", "250.1.2.3"), false},
		{"cidr-10000/ipv6-hit", req("ip", "2001:db8:1f4:db3::1f4"), true},
		{"cidr-10000/ipv4-mapped", req("ip", "::ffff:203.0.113.77"), true},
		{"regex-1000/first", req("path", "/svc0/v2/items/42"), true},
		{"regex-1000/last", req("path", "/svc999/v2/items/42"), true},
		{"regex-1000/miss", req("path", "/other/v2/items/42"), false},
	}
	for _, c := range cases {
		if (Find(s, "bench", c.entry) != nil) != c.hit {
			b.Fatalf("%s: unexpected result", c.name)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Find(s, "bench", c.entry)
			}
		})
	}
}
