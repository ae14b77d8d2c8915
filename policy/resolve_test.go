package policy

import "testing"

const resolvePolicy = `
domain: api
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 10}
  - key: free
    rate_limit: {unlimited: true}
  - key: path
    value: "files/*"
    share_threshold: true
    rate_limit: {unit: hour, requests_per_unit: 5}
`

func TestResolve(t *testing.T) {
	snap, err := ParseSnapshot("resolve.yaml", []byte(resolvePolicy))
	if err != nil {
		t.Fatal(err)
	}
	const now = 1700000030 // 50s into a minute, 830s into an hour
	tests := []struct {
		name     string
		domain   string
		entries  []*entry
		own      *Override // the descriptor's own limit
		counted  bool
		override bool
		rpu      uint32
		unit     Unit
		start    int64
		key      string
	}{
		{name: "rule", domain: "api", entries: req("user", "u1"),
			counted: true, rpu: 10, unit: Minute, start: 1699999980, key: "rl_api_user_u1_1699999980"},
		{name: "shared wildcard", domain: "api", entries: req("path", "files/a"),
			counted: true, rpu: 5, unit: Hour, start: 1699999200, key: "rl_api_path_files/*_1699999200"},
		{name: "unlimited", domain: "api", entries: req("free", "x")},
		{name: "no rule", domain: "api", entries: req("other", "x")},
		{name: "unknown domain", domain: "web", entries: req("user", "u1")},
		{name: "override", domain: "api", entries: req("path", "files/a"), own: &Override{RequestsPerUnit: 7, Unit: Second},
			counted: true, override: true, rpu: 7, unit: Second, start: now, key: "rl_api_path_files/a_1700000030"},
		// Ignored: the rule applies, as if the request carried no override.
		{name: "override with an unknown unit", domain: "api", entries: req("user", "u1"), own: &Override{RequestsPerUnit: 7, Unit: UnitUnknown},
			counted: true, rpu: 10, unit: Minute, start: 1699999980, key: "rl_api_user_u1_1699999980"},
		{name: "override in an unknown domain", domain: "web", entries: req("user", "u1"), own: &Override{RequestsPerUnit: 7, Unit: Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Resolve(snap, tt.domain, tt.entries, tt.own, now)
			if r.Counted() != tt.counted || r.Override != tt.override || r.RequestsPerUnit != tt.rpu || r.Unit != tt.unit {
				t.Fatalf("got counted=%v override=%v %d/%v, want counted=%v override=%v %d/%v",
					r.Counted(), r.Override, r.RequestsPerUnit, r.Unit, tt.counted, tt.override, tt.rpu, tt.unit)
			}
			if !tt.counted {
				return
			}
			if r.WindowStart != tt.start || r.WindowEnd() != tt.start+tt.unit.Seconds() {
				t.Errorf("window [%d, %d), want [%d, %d)", r.WindowStart, r.WindowEnd(), tt.start, tt.start+tt.unit.Seconds())
			}
			if got := string(AppendKey(nil, KeyFormat{Prefix: "rl_"}, tt.domain, tt.entries, &r)); got != tt.key {
				t.Errorf("key %q, want %q", got, tt.key)
			}
		})
	}
}

func TestResolveDoesNotAllocate(t *testing.T) {
	snap, err := ParseSnapshot("resolve.yaml", []byte(resolvePolicy))
	if err != nil {
		t.Fatal(err)
	}
	r := req("path", "files/a")
	buf := make([]byte, 0, 128)
	n := testing.AllocsPerRun(100, func() {
		res := Resolve(snap, "api", r, nil, 1700000000)
		buf = AppendKey(buf[:0], KeyFormat{Prefix: "rl_"}, "api", r, &res)
		o := Override{RequestsPerUnit: 1, Unit: Second}
		res = Resolve(snap, "api", r, &o, 1700000000)
		buf = AppendKey(buf[:0], KeyFormat{Prefix: "rl_"}, "api", r, &res)
	})
	if n != 0 {
		t.Errorf("Resolve and AppendKey allocate %v times", n)
	}
}
