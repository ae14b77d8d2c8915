package policy_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

// StartWatch returns the first load's snapshot, applied once, then keeps
// watching; a bad first load is an error and nothing is applied.
func TestStartWatch(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "api.yaml")
	writeFile(t, file, "domain: api\ndescriptors: [{key: k, rate_limit: {unit: fortnight}}]\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	applied := make(chan *policy.Snapshot, 16)
	opts := policy.WatchOptions{Paths: []string{dir}, Interval: 5 * time.Millisecond}
	if _, err := policy.StartWatch(ctx, opts, func(s *policy.Snapshot) { applied <- s }, nil); err == nil || !strings.Contains(err.Error(), "api.yaml") {
		t.Fatalf("bad first load: err %v, want one naming api.yaml", err)
	}
	if len(applied) != 0 {
		t.Fatal("a bad first load was applied")
	}

	writeFile(t, file, policyWith("1"))
	first, err := policy.StartWatch(ctx, opts, func(s *policy.Snapshot) { applied <- s }, func(error) {})
	if err != nil || watchedLimit(first) != 1 {
		t.Fatalf("first load: limit %d, err %v", watchedLimit(first), err)
	}
	if got := testkit.Receive(t, "the first load applied", applied); got != first {
		t.Fatal("apply got another snapshot than StartWatch returned")
	}
	writeFile(t, file, policyWith("2"))
	if got := watchedLimit(testkit.Receive(t, "the edit applied in the background", applied)); got != 2 {
		t.Fatalf("reloaded limit = %d, want 2", got)
	}
}
