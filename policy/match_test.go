package policy

import (
	"testing"
)

// precedencePolicy has, for one key, every kind of value: the order in the
// file is deliberately not the order of precedence.
const precedencePolicy = `
domain: p
descriptors:
  - key: addr
    rate_limit: {unit: second, requests_per_unit: 1, name: key-only}
  - key: addr
    value: '^10\..*$'
    match: regex
    rate_limit: {unit: second, requests_per_unit: 2, name: regex-10}
  - key: addr
    value: '10.*'
    rate_limit: {unit: second, requests_per_unit: 3, name: wildcard-10}
  - key: addr
    value: 10.0.0.0/8
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 4, name: cidr-8}
  - key: addr
    value: 10.1.0.0/16
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 5, name: cidr-16}
  - key: addr
    value: 10.1.2.3
    rate_limit: {unit: second, requests_per_unit: 6, name: exact}
  - key: addr
    value: 2001:db8::/32
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 7, name: v6-32}
  - key: addr
    value: 2001:db8:1::/48
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 8, name: v6-48}
  - key: addr
    value: ::ffff:192.168.0.0/112
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 9, name: mapped-192.168}
  - key: addr
    value: 0.0.0.0/0
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 10, name: every-v4}
  - key: path
    value: '/api/*'
    rate_limit: {unit: second, requests_per_unit: 11, name: wildcard-first}
  - key: path
    value: '^/api/v[0-9]+/.*$'
    match: regex
    rate_limit: {unit: second, requests_per_unit: 12, name: regex-second}
  - key: path
    value: '^/v1/users/[0-9]+$'
    match: regex
    rate_limit: {unit: second, requests_per_unit: 13, name: users}
`

func TestMatchPrecedence(t *testing.T) {
	s := mustSnapshot(t, precedencePolicy)
	tests := []struct {
		key, value, want string
	}{
		{"addr", "10.1.2.3", "exact"},             // exact beats every CIDR and pattern
		{"addr", "10.1.9.9", "cidr-16"},           // the longest prefix, though /8 comes first
		{"addr", "10.2.0.1", "cidr-8"},            // CIDR beats the regex and wildcard before it
		{"addr", "::ffff:10.1.9.9", "cidr-16"},    // an IPv4-mapped address matches IPv4 rules
		{"addr", "192.168.4.4", "mapped-192.168"}, // an IPv4-mapped rule matches IPv4 addresses
		{"addr", "8.8.8.8", "every-v4"},           // /0 holds every IPv4 address
		{"addr", "2001:db8:1:2::1", "v6-48"},      // IPv6 longest prefix
		{"addr", "2001:db8:2::1", "v6-32"},
		{"addr", "2001:db8:1::1%eth0", "v6-48"}, // a zone does not keep an address out
		{"addr", "2001:db9::1", "key-only"},     // IPv6 not under any IPv6 rule, and not IPv4
		{"addr", "10.x", "regex-10"},            // not an address: regex and wildcard in file order
		{"addr", "10.0.0.0/8", "regex-10"},      // a prefix is not an address
		{"addr", "something", "key-only"},
		{"path", "/api/v2/x", "wildcard-first"}, // wildcards and regexes: the first in the file wins
		{"path", "/v1/users/42", "users"},
		{"path", "/v1/users/42/x", ""}, // regexes match the whole value
		{"path", "x/v1/users/42", ""},
	}
	for _, tt := range tests {
		l := Find(s, "p", req(tt.key, tt.value))
		got := ""
		if l != nil {
			got = l.Name
		}
		if got != tt.want {
			t.Errorf("%s=%q matched %q, want %q", tt.key, tt.value, got, tt.want)
		}
	}
}

// Matching CIDRs and regexes allocates nothing, as matching exact values
// and wildcards does not.
func TestFindCIDRAndRegexDoNotAllocate(t *testing.T) {
	s := mustSnapshot(t, precedencePolicy)
	reqs := [][]*entry{req("addr", "10.1.9.9"), req("addr", "2001:db8:1:2::1"), req("addr", "::ffff:10.1.9.9"), req("path", "/v1/users/42")}
	if n := testing.AllocsPerRun(100, func() {
		for _, r := range reqs {
			Find(s, "p", r)
		}
	}); n != 0 {
		t.Errorf("Find allocates %v times per round", n)
	}
}

// share_threshold on a CIDR or regex makes every value it matches count in
// one counter, named by the configured value, as for wildcards; without it
// each value has its own.
func TestSharedCIDRAndRegexCounters(t *testing.T) {
	s := mustSnapshot(t, `
domain: s
descriptors:
  - key: ip
    value: 10.0.0.0/8
    match: cidr
    share_threshold: true
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: ip
    value: 192.168.0.0/16
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: path
    value: '^/v1/users/[0-9]+$'
    match: regex
    share_threshold: true
    rate_limit: {unit: second, requests_per_unit: 1}
`)
	tests := []struct{ key, value, want string }{
		{"ip", "10.1.2.3", "rl_s_ip_10.0.0.0/8_7"},
		{"ip", "192.168.1.1", "rl_s_ip_192.168.1.1_7"},
		{"path", "/v1/users/42", "rl_s_path_^/v1/users/[0-9]+$_7"},
	}
	for _, tt := range tests {
		e := req(tt.key, tt.value)
		r := Resolve(s, "s", e, nil, 7)
		if got := string(AppendKey(nil, KeyFormat{Prefix: "rl_"}, "s", e, &r)); got != tt.want {
			t.Errorf("%s=%s: key %q, want %q", tt.key, tt.value, got, tt.want)
		}
	}
}

func TestCompileRegexAnchoring(t *testing.T) {
	tests := []struct {
		re string
		ok bool
	}{
		{`^/v1/users/[0-9]+$`, true},
		{`^(a|b)$`, true},
		{`^(?:a|b)$`, true},
		{`^a$|^b$`, true},
		{`\A/x\z`, true},
		{`^$`, true},
		{`/v1/users`, false},  // a substring match
		{`^/v1/users`, false}, // a prefix match
		{`/v1/users$`, false},
		{`^a|b$`, false},   // "a..." or "...b"
		{`(?m)^a$`, false}, // line anchors
		{`^a$|b`, false},
		{`^(a$`, false}, // invalid
		{`^\p{Nope}$`, false},
	}
	for _, tt := range tests {
		_, err := compileRegex(tt.re)
		if (err == nil) != tt.ok {
			t.Errorf("compileRegex(%q) error = %v, want ok=%t", tt.re, err, tt.ok)
		}
	}
}
