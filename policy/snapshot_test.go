package policy

import (
	"reflect"
	"slices"
	"testing"
)

// entry stands in for the RLS's proto descriptor entry.
type entry struct{ key, value string }

func (e *entry) GetKey() string   { return e.key }
func (e *entry) GetValue() string { return e.value }

// req builds request entries from key, value pairs.
func req(kv ...string) []*entry {
	out := make([]*entry, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &entry{kv[i], kv[i+1]})
	}
	return out
}

func mustSnapshot(t testing.TB, docs ...string) *Snapshot {
	t.Helper()
	var configs []*Config
	for i, d := range docs {
		c, err := Parse("doc"+string(rune('0'+i))+".yaml", []byte(d))
		if err != nil {
			t.Fatal(err)
		}
		configs = append(configs, c)
	}
	s, err := Compile(configs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const matchPolicy = `
domain: m
descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 10}
  - key: remote_address
    value: 50.0.0.5
    rate_limit: {unit: second, requests_per_unit: 0}
  - key: remote_address
    value: "10.*"
    rate_limit: {unit: second, requests_per_unit: 20}
  - key: path
    value: "/api/*/users/*"
    rate_limit: {unit: minute, requests_per_unit: 1}
  - key: path
    value: "/api/*"
    rate_limit: {unit: minute, requests_per_unit: 2}
  - key: host
    value: "*.example.com"
    rate_limit: {unit: hour, requests_per_unit: 3}
  - key: file
    value: "bar*b"
    rate_limit: {unit: hour, requests_per_unit: 4}
  - key: file
    value: "foo*bar*baz"
    rate_limit: {unit: hour, requests_per_unit: 5}
  - key: any
    value: "*"
    rate_limit: {unit: day, requests_per_unit: 6}
  - key: message_type
    value: marketing
    descriptors:
      - key: to_number
        rate_limit: {unit: day, requests_per_unit: 5}
  - key: to_number
    rate_limit: {unit: day, requests_per_unit: 100}
  - key: allowlisted
  - key: deep
    value: a
    rate_limit: {unit: second, requests_per_unit: 1}
    descriptors:
      - key: x
        rate_limit: {unit: second, requests_per_unit: 2}
  - key: noback
    value: exact
    descriptors:
      - key: k
        value: v
        rate_limit: {unit: second, requests_per_unit: 1}
  - key: noback
    descriptors:
      - key: k
        rate_limit: {unit: second, requests_per_unit: 2}
  - key: wild
    value: "a*"
    descriptors:
      - key: k
        rate_limit: {unit: second, requests_per_unit: 1}
  - key: wild
    value: "ab*"
    rate_limit: {unit: second, requests_per_unit: 2}
  - key: ldap
    rate_limit: {unlimited: true}
`

func TestFind(t *testing.T) {
	s := mustSnapshot(t, matchPolicy)
	tests := []struct {
		name   string
		domain string
		req    []*entry
		want   string // StatsKey of the limit; "" for none
	}{
		{"key-only matches any value", "m", req("remote_address", "1.2.3.4"), "m.remote_address"},
		{"exact beats wildcard and key-only", "m", req("remote_address", "50.0.0.5"), "m.remote_address_50.0.0.5"},
		{"wildcard beats key-only", "m", req("remote_address", "10.1.1.1"), "m.remote_address_10.*"},
		{"prefix wildcard needs its prefix", "m", req("remote_address", "11.0.0.1"), "m.remote_address"},
		{"star in the middle", "m", req("path", "/api/v2/users/7"), "m.path_/api/*/users/*"},
		{"wildcards in config order", "m", req("path", "/api/v2/orders"), "m.path_/api/*"},
		{"no match without key-only", "m", req("path", "/other"), ""},
		{"suffix wildcard", "m", req("host", "a.b.example.com"), "m.host_*.example.com"},
		{"suffix wildcard needs its suffix", "m", req("host", "example.org"), ""},
		{"bar*b", "m", req("file", "barb"), "m.file_bar*b"},
		{"bar*b with text between", "m", req("file", "bar-xyz-b"), "m.file_bar*b"},
		{"bar*b needs the last b", "m", req("file", "bar-xyz"), ""},
		{"foo*bar*baz", "m", req("file", "foo1bar2baz"), "m.file_foo*bar*baz"},
		{"foo*bar*baz adjacent", "m", req("file", "foobarbaz"), "m.file_foo*bar*baz"},
		{"foo*bar*baz out of order", "m", req("file", "foobazbar"), ""},
		{"parts must not overlap", "m", req("file", "foobaz"), ""},
		{"lone star matches anything", "m", req("any", "whatever"), "m.any_*"},
		{"lone star matches empty", "m", req("any", ""), "m.any_*"},
		{"nested key-only", "m", req("message_type", "marketing", "to_number", "2061111111"), "m.message_type_marketing.to_number"},
		{"depth must equal entry count (too short)", "m", req("message_type", "marketing"), ""},
		{"depth must equal entry count (too long)", "m", req("to_number", "1", "extra", "x"), ""},
		{"top-level key-only", "m", req("to_number", "2061111111"), "m.to_number"},
		{"descriptor without rate_limit", "m", req("allowlisted", "x"), ""},
		{"limit with children, at its depth", "m", req("deep", "a"), "m.deep_a"},
		{"limit with children, one deeper", "m", req("deep", "a", "x", "1"), "m.deep_a.x"},
		{"no backtracking to key-only", "m", req("noback", "exact", "k", "other"), ""},
		{"key-only when no exact", "m", req("noback", "other", "k", "other"), "m.noback.k"},
		{"first wildcard is followed", "m", req("wild", "abc"), ""},
		{"first wildcard is followed deeper", "m", req("wild", "abc", "k", "1"), "m.wild_a*.k"},
		{"unlimited", "m", req("ldap", "u"), "m.ldap"},
		{"unknown key", "m", req("nope", "x"), ""},
		{"unknown domain", "other", req("remote_address", "1.2.3.4"), ""},
		{"no entries", "m", nil, ""},
		{"keys are case-sensitive", "m", req("Remote_Address", "1.2.3.4"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Find(s, tt.domain, tt.req)
			got := ""
			if l != nil {
				got = l.StatsKey
			}
			if got != tt.want {
				t.Errorf("Find = %q, want %q", got, tt.want)
			}
			if l != nil && l.Depth != len(tt.req) {
				t.Errorf("Depth = %d, want %d", l.Depth, len(tt.req))
			}
			if l != nil && s.Limits[l.Index] != l {
				t.Errorf("Limits[%d] is not the limit found", l.Index)
			}
		})
	}
}

func TestFindNilSnapshot(t *testing.T) {
	var s *Snapshot
	if Find(s, "m", req("a", "b")) != nil || s.HasDomain("m") || s.Domains() != nil || s.Configs() != nil {
		t.Error("a nil snapshot should hold nothing")
	}
}

func TestLimitFields(t *testing.T) {
	s := mustSnapshot(t, `
domain: files
descriptors:
  - key: path
    value: "files/*"
    share_threshold: true
    value_to_metric: true
    descriptors:
      - key: user
        value_to_metric: true
        shadow_mode: true
        quota_mode: true
        detailed_metric: true
        rate_limit:
          name: per_user
          unit: HOUR
          requests_per_unit: 7
          replaces: [{name: per_path}]
        metadata: {team: storage}
  - key: path
    value: "docs/*"
    descriptors:
      - key: user
        rate_limit: {name: per_path, unit: minute, requests_per_unit: 1}
`)
	l := Find(s, "files", req("path", "files/a.pdf", "user", "u1"))
	want := &Limit{
		Domain: "files", Name: "per_user", RequestsPerUnit: 7, Unit: Hour,
		ShadowMode: true, QuotaMode: true, DetailedMetric: true,
		Replaces:        []string{"per_path"},
		StatsKey:        "files.path_files/*.user",
		Depth:           2,
		SharedValue:     []string{"files/*", ""},
		ValueToMetric:   []bool{true, true},
		ConfiguredValue: []string{"files/*", ""},
		Metadata:        map[string]any{"team": "storage"},
		Index:           0,
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("limit\n got %+v\nwant %+v", l, want)
	}
	// Every value under files/* shares one counter; under docs/* (no
	// share_threshold) each value counts alone.
	if other := Find(s, "files", req("path", "files/b.csv", "user", "u1")); other != l {
		t.Error("values under a shared wildcard should find the same limit")
	}
	l2 := Find(s, "files", req("path", "docs/x", "user", "u1"))
	if l2 == nil || !reflect.DeepEqual(l2.SharedValue, []string{"", ""}) || l2.Index != 1 {
		t.Errorf("docs limit = %+v", l2)
	}
	if !reflect.DeepEqual(l2.ValueToMetric, []bool{false, false}) {
		t.Errorf("ValueToMetric = %v", l2.ValueToMetric)
	}
}

func TestSnapshotDomains(t *testing.T) {
	s := mustSnapshot(t, "domain: zeta\n", "domain: alpha\ndescriptors: [{key: k, rate_limit: {unit: second}}]\n")
	if got := s.Domains(); !slices.Equal(got, []string{"alpha", "zeta"}) {
		t.Errorf("Domains = %v", got)
	}
	if !s.HasDomain("zeta") || !s.HasDomain("alpha") || s.HasDomain("beta") {
		t.Error("HasDomain is wrong")
	}
	if cs := s.Configs(); len(cs) != 2 || cs[0].Domain != "alpha" || cs[1].Domain != "zeta" {
		t.Errorf("Configs not sorted by domain: %v", cs)
	}
}

func TestUnit(t *testing.T) {
	tests := []struct {
		in   string
		want Unit
		ok   bool
	}{
		{"second", Second, true}, {"MINUTE", Minute, true}, {"Hour", Hour, true}, {"day", Day, true},
		{"week", Week, true}, {"month", Month, true}, {"year", Year, true},
		{"unknown", UnitUnknown, false}, {"", UnitUnknown, false}, {"days", UnitUnknown, false},
	}
	for _, tt := range tests {
		got, ok := ParseUnit(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseUnit(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if Month.Seconds() != 30*86400 || Year.Seconds() != 365*86400 || Minute.WindowStart(125) != 120 {
		t.Error("unit arithmetic is wrong")
	}
}
