package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const fullExample = `
domain: api
descriptors:
  - key: tenant
    value: acme
    value_to_metric: true
    descriptors:
      - key: path
        value: "/v1/*"
        share_threshold: true
        shadow_mode: true
        detailed_metric: true
        quota_mode: true
        rate_limit:
          name: acme_v1
          unit: Minute
          requests_per_unit: 100
          replaces:
            - name: per_path
        metadata:
          team: payments
          tier: 2
          tags: [a, b]
  - key: path
    rate_limit:
      name: per_path
      unit: second
      requests_per_unit: 0
  - key: internal
    rate_limit:
      unlimited: true
`

func TestParseReadsEveryKey(t *testing.T) {
	c, err := Parse("api.yaml", []byte(fullExample))
	if err != nil {
		t.Fatal(err)
	}
	if c.Domain != "api" || c.Source != "api.yaml" || len(c.Descriptors) != 3 {
		t.Fatalf("config = %+v", c)
	}
	tenant := c.Descriptors[0]
	if tenant.Key != "tenant" || tenant.Value != "acme" || !tenant.ValueToMetric || tenant.RateLimit != nil {
		t.Errorf("tenant = %+v", tenant)
	}
	if tenant.Line != 4 || tenant.Column != 5 {
		t.Errorf("tenant at %d:%d, want 4:5", tenant.Line, tenant.Column)
	}
	p := tenant.Descriptors[0]
	want := Descriptor{
		Key: "path", Value: "/v1/*", ShareThreshold: true, ShadowMode: true,
		DetailedMetric: true, QuotaMode: true,
		RateLimit: &RateLimit{Name: "acme_v1", Unit: "Minute", RequestsPerUnit: 100, Replaces: []string{"per_path"}},
		Metadata:  map[string]any{"team": "payments", "tier": int64(2), "tags": []any{"a", "b"}},
	}
	if got := stripPositions(p); !reflect.DeepEqual(got, want) {
		t.Errorf("path descriptor\n got %+v\nwant %+v", got, want)
	}
	if rl := c.Descriptors[1].RateLimit; rl.RequestsPerUnit != 0 || rl.Unit != "second" || rl.Name != "per_path" {
		t.Errorf("per_path = %+v", rl)
	}
	if rl := c.Descriptors[2].RateLimit; !rl.Unlimited || rl.Unit != "" {
		t.Errorf("internal = %+v", rl)
	}
}

func TestParseAcceptsYAMLConveniences(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		rpu  uint32
		unit string
	}{
		{"anchor and merge key", `
domain: d
descriptors:
  - key: a
    rate_limit: &base {unit: second, requests_per_unit: 3}
  - key: b
    rate_limit:
      <<: *base
      requests_per_unit: 4
`, 4, "second"},
		{"numeric key is text", "domain: d\ndescriptors:\n  - key: 42\n    rate_limit: {unit: HOUR, requests_per_unit: 0x10}\n", 16, "HOUR"},
		{"underscores in numbers", "domain: d\ndescriptors:\n  - key: b\n    rate_limit: {unit: day, requests_per_unit: 1_000}\n", 1000, "day"},
		{"max uint32", "domain: d\ndescriptors:\n  - key: b\n    rate_limit: {unit: day, requests_per_unit: 4294967295}\n", 4294967295, "day"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			rl := c.Descriptors[len(c.Descriptors)-1].RateLimit
			if rl.RequestsPerUnit != tt.rpu || rl.Unit != tt.unit {
				t.Errorf("rate_limit = %+v, want %d per %s", rl, tt.rpu, tt.unit)
			}
		})
	}
}

// TestParseErrors covers every problem a single document can have. Each
// want is "line:col: problem fragment"; the source name must lead.
func TestParseErrors(t *testing.T) {
	const head = "domain: d\ndescriptors:\n" // descriptors start on line 3
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"not a map", "- a\n- b\n", []string{`1:1: document must be a map with domain and descriptors, got a list`}},
		{"scalar document", "hello\n", []string{`1:1: document must be a map`}},
		{"empty document", "", []string{`document is empty`}},
		{"null document", "~\n", []string{`document is empty`}},
		{"invalid YAML", "domain: [\n", []string{`f.yaml:1: invalid YAML`}},
		{"tab indentation", "domain: d\ndescriptors:\n\t- key: a\n", []string{`f.yaml:3: invalid YAML`}},
		{"two documents", "domain: d\n---\ndomain: e\n", []string{`2:1: a file holds one domain`}},
		{"missing domain", "descriptors: []\n", []string{`1:1: domain is missing or empty`}},
		{"empty domain", "domain: \"\"\n", []string{`1:1: domain is missing or empty`}},
		{"domain not a string", "domain: [a]\n", []string{`1:9: domain must be a string, got a list`}},
		{"unknown top-level key", "domain: d\ndomian: x\n", []string{`2:1: unknown key "domian" at the top level`}},
		{"rate_limit at top level", "domain: d\nrate_limit: {}\n", []string{`2:1: unknown key "rate_limit" at the top level: it belongs to a descriptor`}},
		{"non-string key", "domain: d\n1: x\n", []string{`2:1: key 1 is not a string`}},
		{"non-string key in descriptor", head + "  - key: a\n    true: x\n", []string{`4:5: descriptor "a": key a boolean is not a string`}},
		{"repeated key", head + "  - key: a\n    key: b\n", []string{`4:5: descriptor "b": key "key" is repeated (first at line 3)`}},
		{"descriptors not a list", head + "  key: a\n", []string{`3:3: descriptors must be a list, got a map`}},
		{"descriptor entry not a map", head + "  - a\n  - [b]\n", []string{
			`3:5: each descriptors entry must be a map with a key, got the string "a"`,
			`4:5: each descriptors entry must be a map with a key, got a list`}},
		{"empty key", head + "  - value: x\n    rate_limit: {unit: second, requests_per_unit: 1}\n", []string{`3:5: descriptor "_x": descriptor has an empty key`}},
		{"key not a string", head + "  - key: {a: b}\n", []string{`3:10: key must be a string, got a map`}},
		{"unknown descriptor key", head + "  - key: a\n    shadowmode: true\n", []string{`4:5: descriptor "a": unknown key "shadowmode" in a descriptor`, `did you mean "shadow_mode"?`}},
		{"rate_limit key on descriptor", head + "  - key: a\n    unit: second\n", []string{`4:5: descriptor "a": unknown key "unit" in a descriptor: it belongs inside rate_limit`}},
		{"typo inside rate_limit", head + "  - key: a\n    rate_limit:\n      unit: second\n      request_per_unit: 5\n",
			[]string{`6:7: descriptor "a": unknown key "request_per_unit" in rate_limit`, `did you mean "requests_per_unit"?`}},
		{"descriptor key inside rate_limit", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, shadow_mode: true}\n",
			[]string{`4:54: descriptor "a": unknown key "shadow_mode" in rate_limit: it belongs to a descriptor`}},
		{"unknown key deep down", head + "  - key: a\n    descriptors:\n      - key: b\n        descriptors:\n          - key: c\n            valeu: x\n",
			[]string{`8:13: descriptor "a.b.c": unknown key "valeu"`}},
		{"duplicate key/value", head + "  - key: a\n    value: x\n  - key: a\n    value: x\n",
			[]string{`5:5: descriptor "a_x": duplicate descriptor: key "a" with value "x" is at this level already (line 3)`}},
		{"duplicate key-only", head + "  - key: a\n  - key: a\n", []string{`4:5: descriptor "a": duplicate descriptor: key "a" without a value`}},
		{"duplicate nested", head + "  - key: a\n    descriptors:\n      - key: b\n        value: '*'\n      - key: b\n        value: '*'\n",
			[]string{`7:9: descriptor "a.b_*": duplicate descriptor`}},
		{"bad unit", head + "  - key: a\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n",
			[]string{`4:18: descriptor "a": unknown unit "fortnight" (want second, minute, hour, day, week, month or year)`}},
		{"unknown is not a unit", head + "  - key: a\n    rate_limit: {unit: unknown, requests_per_unit: 1}\n", []string{`unknown unit "unknown"`}},
		{"unit not a string", head + "  - key: a\n    rate_limit: {unit: [s], requests_per_unit: 1}\n", []string{`4:24: descriptor "a": unit must be a string, got a list`}},
		{"missing unit", head + "  - key: a\n    rate_limit: {requests_per_unit: 1}\n", []string{`4:5: descriptor "a": rate_limit needs a unit (second, minute, hour, day, week, month or year) or unlimited: true`}},
		{"empty rate_limit", head + "  - key: a\n    rate_limit: {}\n", []string{`rate_limit needs a unit`}},
		{"unit with unlimited", head + "  - key: a\n    rate_limit:\n      unlimited: true\n      unit: second\n",
			[]string{`6:7: descriptor "a": unit must not be set when unlimited is true`}},
		{"requests_per_unit with unlimited", head + "  - key: a\n    rate_limit:\n      unlimited: true\n      requests_per_unit: 0\n",
			[]string{`6:7: descriptor "a": requests_per_unit must not be set when unlimited is true`}},
		{"unlimited not a bool", head + "  - key: a\n    rate_limit: {unlimited: maybe}\n", []string{`4:29: descriptor "a": unlimited must be true or false, got the string "maybe"`}},
		{"negative requests_per_unit", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: -1}\n",
			[]string{`4:51: descriptor "a": requests_per_unit must not be negative, got -1`}},
		{"fractional requests_per_unit", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1.5}\n",
			[]string{`4:51: descriptor "a": requests_per_unit must be a whole number, got 1.5`}},
		{"text requests_per_unit", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: ten}\n",
			[]string{`requests_per_unit must be a whole number, got the string "ten"`}},
		{"overflowing requests_per_unit", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 4294967296}\n",
			[]string{`4:51: descriptor "a": requests_per_unit 4294967296 is too large (at most 4294967295)`}},
		{"huge requests_per_unit", head + "  - key: a\n    rate_limit: {unit: second, requests_per_unit: 99999999999999999999999}\n",
			[]string{`is too large`}},
		{"rate_limit not a map", head + "  - key: a\n    rate_limit: 5\n", []string{`4:17: descriptor "a": rate_limit must be a map, got a number 5`}},
		{"empty replaces", head + "  - key: a\n    rate_limit:\n      unit: second\n      requests_per_unit: 1\n      replaces:\n        - name: \"\"\n",
			[]string{`8:11: descriptor "a": replaces entry has an empty name`}},
		{"self replaces", head + "  - key: a\n    rate_limit:\n      name: me\n      unit: second\n      requests_per_unit: 1\n      replaces:\n        - name: me\n",
			[]string{`9:11: descriptor "a": rate_limit "me" replaces itself`}},
		{"replaces entry not a map", head + "  - key: a\n    rate_limit:\n      unit: second\n      replaces: [other]\n",
			[]string{`6:18: descriptor "a": each replaces entry must be a map like {name: other_limit}, got the string "other"`}},
		{"replaces not a list", head + "  - key: a\n    rate_limit:\n      unit: second\n      replaces: other\n",
			[]string{`6:17: descriptor "a": replaces must be a list`}},
		{"unknown key in replaces", head + "  - key: a\n    rate_limit:\n      unit: second\n      replaces: [{nmae: x}]\n",
			[]string{`6:19: descriptor "a": unknown key "nmae" in a replaces entry`}},
		{"share_threshold without wildcard", head + "  - key: a\n    value: x\n    share_threshold: true\n",
			[]string{`5:5: descriptor "a_x": share_threshold needs a wildcard value (one with '*'), got "x"`}},
		{"share_threshold without value", head + "  - key: a\n    share_threshold: true\n", []string{`share_threshold needs a wildcard value (one with '*'), got no value`}},
		{"bool not a bool", head + "  - key: a\n    shadow_mode: sometimes\n", []string{`4:18: descriptor "a": shadow_mode must be true or false`}},
		{"metadata not a map", head + "  - key: a\n    metadata: [x]\n", []string{`4:15: descriptor "a": metadata must be a map, got a list`}},
		{"metadata non-string key", head + "  - key: a\n    rate_limit: {unit: second}\n    metadata: {1: x}\n", []string{`5:16: descriptor "a": key 1 is not a string`}},
		{"metadata without rate_limit", head + "  - key: a\n    metadata: {team: x}\n", []string{`4:5: descriptor "a": metadata has no rate_limit to belong to`}},
		{"merge of a scalar", head + "  - key: a\n    <<: 5\n", []string{`4:9: descriptor "a": merge key << needs a map`}},
		{"alias bomb", aliasBomb(), []string{`document is too large once aliases are expanded`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error; parsed %+v", c)
			}
			if c != nil {
				t.Errorf("config returned with an error")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T is not Errors: %v", err, err)
			}
			for _, e := range errs {
				if e.Source != "f.yaml" || !strings.HasPrefix(e.Error(), "f.yaml:") {
					t.Errorf("error does not name its file: %q", e)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors\n%s\ndo not contain %q", err, w)
				}
			}
		})
	}
}

// A config with many mistakes reports them all, in file order.
func TestParseReportsEveryError(t *testing.T) {
	src := `domain: d
descriptors:
  - key: a
    rate_limit: {unit: fortnight, requests_per_unit: 1}
  - key: b
    rate_limit: {requests_per_unit: -3, unit: second}
  - key: c
    descriptors:
      - key: d
        bogus: 1
`
	_, err := Parse("many.yaml", []byte(src))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`many.yaml:4:18: descriptor "a": unknown unit "fortnight"`,
		`many.yaml:6:37: descriptor "b": requests_per_unit must not be negative, got -3`,
		`many.yaml:10:9: descriptor "c.d": unknown key "bogus" in a descriptor`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Errorf("Errors.Error() should be one problem per line, got %q", err.Error())
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Source: "a.yaml", Line: 3, Column: 5, Descriptor: "a_b.c", Problem: "bad"}, `a.yaml:3:5: descriptor "a_b.c": bad`},
		{Error{Source: "a.yaml", Line: 3, Problem: "bad"}, `a.yaml:3: bad`},
		{Error{Source: "xds:node-1", Descriptor: "k", Problem: "bad"}, `xds:node-1: descriptor "k": bad`},
		{Error{Problem: "bad"}, `bad`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// aliasBomb nests aliases so that naive expansion would visit 10^9 nodes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 {x: 1}\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("domain: d\ndescriptors:\n  - key: a\n    rate_limit: {unit: second}\n    metadata: {m: *a9}\n")
	return b.String()
}

// stripPositions clears what the parser records about positions, so that
// parsed descriptors compare equal to ones built in code.
func stripPositions(d Descriptor) Descriptor {
	d.Line, d.Column, d.fieldAt = 0, 0, nil
	if d.Descriptors != nil {
		kids := make([]Descriptor, len(d.Descriptors))
		for i, k := range d.Descriptors {
			kids[i] = stripPositions(k)
		}
		d.Descriptors = kids
	}
	return d
}
