package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileAcrossConfigs(t *testing.T) {
	parse := func(name, src string) *Config {
		c, err := Parse(name, []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name    string
		configs []*Config
		want    []string
	}{
		{
			"duplicate domain across files",
			[]*Config{parse("a.yaml", "domain: api\n"), parse("b.yaml", "# b\ndomain: api\n")},
			[]string{`b.yaml:2:1: domain "api" is already defined in a.yaml:1`},
		},
		{
			"replaces naming no rule of the domain",
			[]*Config{
				parse("a.yaml", "domain: api\ndescriptors:\n  - key: k\n    rate_limit:\n      unit: second\n      replaces: [{name: elsewhere}]\n"),
				parse("b.yaml", "domain: other\ndescriptors:\n  - key: k\n    rate_limit: {name: elsewhere, unit: second}\n"),
			},
			[]string{`a.yaml:6:18: descriptor "k": replaces "elsewhere", but no rate_limit in domain "api" has that name`},
		},
		{
			"configs built in code are checked too",
			[]*Config{{Source: "xds:node-1", Domain: "d", Descriptors: []Descriptor{
				{Key: "a", RateLimit: &RateLimit{Unit: "second", Unlimited: true}},
				{Key: "b", RateLimit: &RateLimit{RequestsPerUnit: 5, Unlimited: true}},
				{Key: "c", RateLimit: &RateLimit{Unit: "fortnight"}},
				{Key: "d", RateLimit: &RateLimit{Unit: "second", Name: "x", Replaces: []string{"", "x"}}},
				{Key: "", Value: "v"},
				{Key: "e", Value: "v", ShareThreshold: true},
				{Key: "e", Value: "v"},
				{Key: "f", RateLimit: &RateLimit{}},
			}}},
			[]string{
				`xds:node-1: descriptor "a": unit must not be set when unlimited is true`,
				`xds:node-1: descriptor "b": requests_per_unit must not be set when unlimited is true`,
				`xds:node-1: descriptor "c": unknown unit "fortnight"`,
				`xds:node-1: descriptor "d": replaces entry has an empty name`,
				`xds:node-1: descriptor "d": rate_limit "x" replaces itself`,
				`xds:node-1: descriptor "_v": descriptor has an empty key`,
				`xds:node-1: descriptor "e_v": share_threshold needs a wildcard value`,
				`xds:node-1: descriptor "e_v": duplicate descriptor`,
				`xds:node-1: descriptor "f": rate_limit needs a unit`,
			},
		},
		{
			"empty domain built in code",
			[]*Config{{Source: "admin"}},
			[]string{`admin: domain is missing or empty`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(tt.configs)
			if err == nil {
				t.Fatalf("no error; snapshot %+v", s)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T is not Errors", err)
			}
			if len(errs) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors\n%s\ndo not contain %q", err, w)
				}
			}
		})
	}
}

func TestCompileReplacesWithinDomain(t *testing.T) {
	s := mustSnapshot(t, `
domain: example7
descriptors:
  - key: key_1
    value: value_1
    descriptors:
      - key: user
        value: bkthomps
        rate_limit: {name: specific_limit, requests_per_unit: 5, unit: second}
  - key: key_2
    value: value_2
    descriptors:
      - key: user
        value: bkthomps
        rate_limit:
          replaces: [{name: specific_limit}]
          requests_per_unit: 10
          unit: second
`)
	l := Find(s, "example7", req("key_2", "value_2", "user", "bkthomps"))
	if l == nil || len(l.Replaces) != 1 || l.Replaces[0] != "specific_limit" {
		t.Errorf("limit = %+v", l)
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"foo*", "foo", true},
		{"foo*", "foobar", true},
		{"foo*", "fo", false},
		{"*", "", true},
		{"**", "x", true},
		{"*bar", "foobar", true},
		{"*bar", "barfoo", false},
		{"bar*b", "barb", true},
		{"bar*b", "bar", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"foo*bar*baz", "foo-bar-bar-baz", true},
		{"foo*bar*baz", "foobazbar", false},
		{"*a*b*", "xxaxxbxx", true},
		{"*a*b*", "xxbxxaxx", false},
	}
	for _, tt := range tests {
		w := newWildcard(tt.pattern)
		if got := w.match(tt.value); got != tt.want {
			t.Errorf("%q matching %q = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}
