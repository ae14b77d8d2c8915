package testkit

import (
	"fmt"
	"testing"

	"github.com/floodgate/floodgate/policy"
)

// Compile parses each YAML document as its own policy file (test0.yaml,
// test1.yaml, ...) and compiles them into one snapshot, failing t on any
// error.
func Compile(t testing.TB, docs ...string) *policy.Snapshot {
	t.Helper()
	configs := make([]*policy.Config, 0, len(docs))
	for i, d := range docs {
		c, err := policy.Parse(fmt.Sprintf("test%d.yaml", i), []byte(d))
		if err != nil {
			t.Fatalf("parse policy: %v", err)
		}
		configs = append(configs, c)
	}
	snap, err := policy.Compile(configs)
	if err != nil {
		t.Fatalf("compile policy: %v", err)
	}
	return snap
}
