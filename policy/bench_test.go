package policy

import (
	"strconv"
	"testing"
)

// benchSnapshot has 1000 domains; domain "d500" has, at its top level,
// 1000 exact values of one key, 1000 other keys, and a few wildcards.
func benchSnapshot(b *testing.B) *Snapshot {
	b.Helper()
	rl := func(n uint32) *RateLimit { return &RateLimit{Unit: "second", RequestsPerUnit: n} }
	configs := make([]*Config, 0, 1000)
	for d := 0; d < 1000; d++ {
		c := &Config{Domain: "d" + strconv.Itoa(d)}
		for i := 0; i < 1000; i++ {
			s := strconv.Itoa(i)
			c.Descriptors = append(c.Descriptors,
				Descriptor{Key: "ip", Value: "10.0.0." + s, RateLimit: rl(1)},
				Descriptor{Key: "key" + s, RateLimit: rl(2)},
			)
			if d != 500 && i == 2 {
				break // keep the other domains small; only their number matters
			}
		}
		c.Descriptors = append(c.Descriptors,
			Descriptor{Key: "path", Value: "/a/*/x", RateLimit: rl(3)},
			Descriptor{Key: "path", Value: "/b/*", RateLimit: rl(3)},
			Descriptor{Key: "path", Value: "/api/*", ShareThreshold: true, RateLimit: rl(3)},
			Descriptor{Key: "user", RateLimit: rl(4)},
			Descriptor{Key: "tenant", Value: "acme", Descriptors: []Descriptor{
				{Key: "path", Value: "/v1/*", Descriptors: []Descriptor{
					{Key: "user", RateLimit: rl(5)},
				}},
			}},
		)
		configs = append(configs, c)
	}
	s, err := Compile(configs)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkFind(b *testing.B) {
	s := benchSnapshot(b)
	cases := []struct {
		name string
		req  []*entry
		hit  bool
	}{
		{"exact", req("ip", "10.0.0.777"), true},
		{"wildcard", req("path", "/api/orders/42"), true},
		{"key-only", req("key777", "anything"), true},
		{"nested", req("tenant", "acme", "path", "/v1/orders", "user", "u-123"), true},
		{"no-match", req("path", "/zzz"), false},
		{"unknown-domain", req("ip", "10.0.0.1"), false},
	}
	for _, c := range cases {
		domain := "d500"
		if c.name == "unknown-domain" {
			domain = "nope"
		}
		if (Find(s, domain, c.req) != nil) != c.hit {
			b.Fatalf("%s: unexpected result", c.name)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Find(s, domain, c.req)
			}
		})
	}
}

func TestFindDoesNotAllocate(t *testing.T) {
	s := mustSnapshot(t, matchPolicy)
	r := req("message_type", "marketing", "to_number", "2061111111")
	w := req("path", "/api/v2/users/7")
	if n := testing.AllocsPerRun(100, func() { Find(s, "m", r); Find(s, "m", w) }); n != 0 {
		t.Errorf("Find allocates %v times per call", n)
	}
}
