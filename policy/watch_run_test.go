package policy_test

// Watch's own loop runs here, outside package policy, because the test
// waits through testkit, which imports policy.

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

// Watch itself loads at once, polls on its ticker, and returns when its
// context is done. One edit at a time, so no poll can fall between edits.
func TestWatchPollsUntilContextIsDone(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "api.yaml")
	writeFile(t, file, policyWith("1"))

	applied := make(chan *policy.Snapshot, 16)
	rejected := make(chan error, 16)
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer close(done)
		policy.Watch(ctx, []string{dir}, 5*time.Millisecond,
			func(s *policy.Snapshot) { applied <- s },
			func(err error) { rejected <- err })
	}()

	if got := watchedLimit(testkit.Receive(t, "the first load", applied)); got != 1 {
		t.Fatalf("first snapshot limit = %d, want 1", got)
	}
	writeFile(t, file, policyWith("2"))
	if got := watchedLimit(testkit.Receive(t, "the edit applied by a later poll", applied)); got != 2 {
		t.Fatalf("reloaded limit = %d, want 2", got)
	}
	cancel()
	testkit.Receive(t, "Watch to return after its context was cancelled", done)
	if n := len(rejected); n != 0 {
		t.Errorf("Watch rejected %d loads of valid files", n)
	}
}

type watchedEntry struct{ key, value string }

func (e watchedEntry) GetKey() string   { return e.key }
func (e watchedEntry) GetValue() string { return e.value }

func watchedLimit(s *policy.Snapshot) uint32 {
	if l := policy.Find(s, "api", []watchedEntry{{"k", "v"}}); l != nil {
		return l.RequestsPerUnit
	}
	return 0
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Write then rename, so a poll never sees a half-written file.
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func policyWith(n string) string {
	return "domain: api\ndescriptors: [{key: k, rate_limit: {unit: second, requests_per_unit: " + n + "}}]\n"
}
