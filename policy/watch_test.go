package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// watcher runs Watch and exposes what it reports on channels.
type watcher struct {
	applied  chan *Snapshot
	rejected chan error
	done     chan struct{}
	cancel   context.CancelFunc
}

func startWatch(t *testing.T, paths ...string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{
		applied:  make(chan *Snapshot, 16),
		rejected: make(chan error, 16),
		done:     make(chan struct{}),
		cancel:   cancel,
	}
	go func() {
		defer close(w.done)
		Watch(ctx, paths, 5*time.Millisecond,
			func(s *Snapshot) { w.applied <- s },
			func(err error) { w.rejected <- err })
	}()
	t.Cleanup(func() { cancel(); <-w.done })
	return w
}

func (w *watcher) nextApply(t *testing.T) *Snapshot {
	t.Helper()
	select {
	case s := <-w.applied:
		return s
	case err := <-w.rejected:
		t.Fatalf("rejected: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no snapshot applied")
	}
	return nil
}

func (w *watcher) nextReject(t *testing.T) error {
	t.Helper()
	select {
	case s := <-w.applied:
		t.Fatalf("applied %v, want a rejection", s.Domains())
	case err := <-w.rejected:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("nothing rejected")
	}
	return nil
}

func (w *watcher) quiet(t *testing.T) {
	t.Helper()
	select {
	case s := <-w.applied:
		t.Fatalf("unexpected apply of %v", s.Domains())
	case err := <-w.rejected:
		t.Fatalf("unexpected rejection: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
}

func limitOf(s *Snapshot) uint32 {
	if l := Find(s, "api", req("k", "v")); l != nil {
		return l.RequestsPerUnit
	}
	return 0
}

func policyWith(n string) string {
	return "domain: api\ndescriptors: [{key: k, rate_limit: {unit: second, requests_per_unit: " + n + "}}]\n"
}

func TestWatchReloadsAndKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "api.yaml")
	writeFile(t, file, policyWith("1"))
	w := startWatch(t, dir)

	if got := limitOf(w.nextApply(t)); got != 1 {
		t.Fatalf("first snapshot limit = %d, want 1", got)
	}
	w.quiet(t) // unchanged content is not reloaded

	writeFile(t, file, policyWith("2"))
	if got := limitOf(w.nextApply(t)); got != 2 {
		t.Fatalf("reloaded limit = %d, want 2", got)
	}

	// A bad edit is reported once, with its position, and nothing is applied:
	// the caller keeps serving the last good snapshot.
	writeFile(t, file, "domain: api\ndescriptors: [{key: k, rate_limit: {unit: second, request_per_unit: 3}}]\n")
	err := w.nextReject(t)
	if !strings.Contains(err.Error(), file+`:2:51: descriptor "k": unknown key "request_per_unit"`) {
		t.Errorf("rejection = %v", err)
	}
	w.quiet(t)

	// A second file with the same domain is a cross-file problem.
	writeFile(t, file, policyWith("3"))
	writeFile(t, filepath.Join(dir, "dup.yaml"), "domain: api\n")
	if err := w.nextReject(t); !strings.Contains(err.Error(), `domain "api" is already defined`) {
		t.Errorf("rejection = %v", err)
	}

	if err := os.Remove(filepath.Join(dir, "dup.yaml")); err != nil {
		t.Fatal(err)
	}
	if got := limitOf(w.nextApply(t)); got != 3 {
		t.Fatalf("limit after fix = %d, want 3", got)
	}
}

// Kubernetes updates a ConfigMap volume by pointing the "..data" symlink at
// a new directory; the files themselves are symlinks through "..data".
func TestWatchSeesConfigMapSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "..v1", "api.yaml"), policyWith("1"))
	writeFile(t, filepath.Join(dir, "..v2", "api.yaml"), policyWith("2"))
	must(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
	must(t, os.Symlink(filepath.Join("..data", "api.yaml"), filepath.Join(dir, "api.yaml")))

	w := startWatch(t, dir)
	if got := limitOf(w.nextApply(t)); got != 1 {
		t.Fatalf("limit = %d, want 1", got)
	}
	must(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	if got := limitOf(w.nextApply(t)); got != 2 {
		t.Fatalf("limit after swap = %d, want 2", got)
	}
}

func TestWatchStopsWhenContextIsDone(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "api.yaml"), policyWith("1"))
	w := startWatch(t, dir)
	w.nextApply(t)
	w.cancel()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after its context was cancelled")
	}
}

func TestWatchReportsMissingPath(t *testing.T) {
	w := startWatch(t, filepath.Join(t.TempDir(), "nope"))
	if err := w.nextReject(t); !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("rejection = %v", err)
	}
	w.quiet(t) // the same failure is reported once
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
