package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes: it must never panic, and whatever
// it accepts must compile (up to cross-document checks) and survive a Marshal/Parse round trip.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		fullExample,
		matchPolicy,
		"domain: d\n",
		"domain: d\ndescriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: -1}\n",
		"a: &a [*a]\n",
		"domain: d\ndescriptors:\n  - <<: {key: a}\n    rate_limit: {unlimited: true}\n",
		"domain: d\n---\n- x\n",
		"[1, {a: b}]",
		"domain: !!binary aGVsbG8=\n",
		aliasBomb(),
		"domain: d\ndescriptors:\n  - key: a\n    value: 10.0.0.0/8\n    match: cidr\n    rate_limits:\n      - {unit: second, name: x, algorithm: token_bucket, burst: 3}\n      - {unit: minute, name: y, unit_multiplier: 10}\n",
		"domain: d\ndescriptors:\n  - key: a\n    value: '^a$'\n    match: regex\n    share_threshold: true\n    rate_limits: []\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// Only cross-document problems are left for Compile to find.
		if _, err := Compile([]*Config{c}); err != nil {
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("compile error %T", err)
			}
			for _, e := range errs {
				if !strings.HasPrefix(e.Problem, "replaces ") {
					t.Fatalf("parsed but did not compile: %v", e)
				}
			}
		}
		out, err := Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := Parse("again.yaml", out)
		if err != nil {
			t.Fatalf("marshalled config does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(stripConfig(back), stripConfig(c)) {
			t.Fatalf("round trip changed the config\n%s", out)
		}
	})
}
