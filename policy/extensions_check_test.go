package policy

import (
	"errors"
	"strings"
	"testing"
)

// Every mistake in Floodgate's extensions is reported with file:line:col and
// the descriptor, as every other problem is.
func TestParseExtensionErrors(t *testing.T) {
	const head = "domain: d\ndescriptors:\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"invalid CIDR", head + "  - key: ip\n    value: 10.0.0.0/33\n    match: cidr\n",
			[]string{`f.yaml:4:12: descriptor "ip_10.0.0.0/33": invalid CIDR "10.0.0.0/33"`}},
		{"CIDR without a length", head + "  - key: ip\n    value: 10.0.0.1\n    match: cidr\n",
			[]string{`4:12: descriptor "ip_10.0.0.1": invalid CIDR "10.0.0.1"`}},
		{"CIDR with host bits", head + "  - key: ip\n    value: 10.0.0.1/8\n    match: cidr\n",
			[]string{`4:12: descriptor "ip_10.0.0.1/8": invalid CIDR "10.0.0.1/8": it has host bits set (did you mean 10.0.0.0/8?)`}},
		{"same CIDR twice", head + "  - key: ip\n    value: 10.0.0.0/8\n    match: cidr\n  - key: ip\n    value: ::ffff:10.0.0.0/104\n    match: cidr\n",
			[]string{`6:5: descriptor "ip_::ffff:10.0.0.0/104": duplicate descriptor: key "ip" with value "::ffff:10.0.0.0/104" is at this level already (line 3)`}},
		{"invalid regex", head + "  - key: p\n    value: '^(a$'\n    match: regex\n",
			[]string{`4:12: descriptor "p_^(a$": invalid regex "^(a$": missing closing ): `}},
		{"unanchored regex", head + "  - key: p\n    value: '/v1/.*'\n    match: regex\n",
			[]string{`4:12: descriptor "p_/v1/.*": regex "/v1/.*" is not anchored`}},
		{"ambiguous alternation", head + "  - key: p\n    value: '^a|b$'\n    match: regex\n",
			[]string{`4:12: descriptor "p_^a|b$": regex "^a|b$" is not anchored`}},
		{"unknown match", head + "  - key: p\n    value: x\n    match: glob\n",
			[]string{`5:5: descriptor "p_x": unknown match "glob" (want exact, cidr or regex)`}},
		{"match without value", head + "  - key: p\n    match: cidr\n",
			[]string{`4:5: descriptor "p": match cidr needs a value to match`}},
		{"burst without token_bucket", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, burst: 5}\n",
			[]string{`4:54: descriptor "a": burst needs algorithm: token_bucket (the bucket size has no meaning for fixed_window)`}},
		{"burst with sliding_window", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, algorithm: sliding_window, burst: 5}\n",
			[]string{`descriptor "a": burst needs algorithm: token_bucket (the bucket size has no meaning for sliding_window)`}},
		{"burst 0", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, algorithm: token_bucket, burst: 0}\n",
			[]string{`4:79: descriptor "a": burst must be at least 1`}},
		{"unit_multiplier 0", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, unit_multiplier: 0}\n",
			[]string{`4:54: descriptor "a": unit_multiplier must be at least 1`}},
		{"unit_multiplier negative", head + "  - key: a\n    rate_limit: {unit: second, unit_multiplier: -2}\n",
			[]string{`4:49: descriptor "a": unit_multiplier must not be negative, got -2`}},
		{"unknown algorithm", head + "  - key: a\n    rate_limit: {unit: second, algorithm: leaky_bucket}\n",
			[]string{`4:32: descriptor "a": unknown algorithm "leaky_bucket" (want fixed_window, sliding_window or token_bucket)`}},
		{"algorithm with unlimited", head + "  - key: a\n    rate_limit: {unlimited: true, algorithm: token_bucket}\n",
			[]string{`4:35: descriptor "a": algorithm must not be set when unlimited is true`}},
		{"rate_limit and rate_limits", head + "  - key: a\n    rate_limit: {unit: second}\n    rate_limits:\n      - {unit: hour, name: h}\n",
			[]string{`5:5: descriptor "a": rate_limit and rate_limits are both set`}},
		{"two limits with one name", head + "  - key: a\n    rate_limits:\n      - {unit: second, name: x}\n      - {unit: hour, name: x}\n",
			[]string{`6:22: descriptor "a": two limits are named "x" (line 5): each limit of rate_limits needs its own name`}},
		{"limit without a name", head + "  - key: a\n    rate_limits:\n      - {unit: second}\n",
			[]string{`5:9: descriptor "a": each limit of rate_limits needs a name`}},
		{"bad unit in the list", head + "  - key: a\n    rate_limits:\n      - {unit: fortnight, name: x}\n",
			[]string{`5:10: descriptor "a": unknown unit "fortnight"`}},
		{"unlimited in the list", head + "  - key: a\n    rate_limits:\n      - {unlimited: true, name: x}\n",
			[]string{`5:10: descriptor "a": unlimited has no place in rate_limits`}},
		{"rate_limits not a list", head + "  - key: a\n    rate_limits: {unit: second}\n",
			[]string{`4:18: descriptor "a": rate_limits must be a list of rate_limit maps, got a map`}},
		{"unknown key in the list", head + "  - key: a\n    rate_limits:\n      - {unit: second, name: x, brust: 2}\n",
			[]string{`5:33: descriptor "a": unknown key "brust" in rate_limit`, `did you mean "burst"?`}},
		{"share_threshold on an exact value", head + "  - key: a\n    value: x\n    match: exact\n    share_threshold: true\n",
			[]string{`share_threshold needs a wildcard value (one with '*'), got "x", or match: cidr or regex`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors\n%s\ndo not contain %q", err, w)
				}
			}
		})
	}
}

// Compile checks configs built in code (the admin API, xDS) the same way.
func TestCompileChecksExtensionsInCode(t *testing.T) {
	_, err := Compile([]*Config{{Domain: "d", Source: "admin", Descriptors: []Descriptor{
		{Key: "ip", Value: "nope/8", Match: "cidr", RateLimit: &RateLimit{Unit: "second"}},
		{Key: "a", RateLimit: &RateLimit{Unit: "second", Burst: 3}},
	}}})
	for _, w := range []string{`admin: descriptor "ip_nope/8": invalid CIDR "nope/8"`, `admin: descriptor "a": burst needs algorithm: token_bucket`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Compile error %v does not contain %q", err, w)
		}
	}
}

// A file without Floodgate's extensions is read in lenient mode as
// envoyproxy/ratelimit reads it, and the extensions are not taken for its
// keys written in the wrong place.
func TestLenientDoesNotTolerateMisplacedExtensions(t *testing.T) {
	_, err := parse("f.yaml", []byte("domain: d\ndescriptors:\n  - key: a\n    burst: 3\n    rate_limit: {unit: second}\n"), true)
	if err == nil || !strings.Contains(err.Error(), `4:5: descriptor "a": unknown key "burst" in a descriptor: it belongs inside rate_limit`) {
		t.Errorf("lenient parse of a misplaced burst: %v", err)
	}
}
