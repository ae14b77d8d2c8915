package testkit

import (
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	snap := Compile(t, "domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 1}\n",
		"domain: b\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 2}\n")
	if got := strings.Join(snap.Domains(), ","); got != "a,b" {
		t.Fatalf("domains %q, want a,b", got)
	}
	fatal, finished := underShortBudget(t, func(tb testing.TB) {
		Compile(tb, "domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: fortnight}\n")
	})
	if finished || !strings.Contains(fatal, "test0.yaml") {
		t.Fatalf("a bad policy: finished %v, failure %q; want a failure naming test0.yaml", finished, fatal)
	}
}
