package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// polled is a fileWatch driven by the test, one poll at a time, with what
// each poll reported.
type polled struct {
	w        *fileWatch
	applied  []*Snapshot
	rejected []error
}

func newPolled(paths ...string) *polled {
	p := &polled{}
	p.w = &fileWatch{paths: paths,
		apply:  func(s *Snapshot) { p.applied = append(p.applied, s) },
		reject: func(err error) { p.rejected = append(p.rejected, err) }}
	return p
}

// poll runs one poll and returns what it reported.
func (p *polled) poll() (applied []*Snapshot, rejected []error) {
	p.applied, p.rejected = nil, nil
	p.w.poll()
	return p.applied, p.rejected
}

// pollApply polls once and returns the snapshot applied, failing unless the
// poll applied exactly one and rejected nothing.
func (p *polled) pollApply(t *testing.T) *Snapshot {
	t.Helper()
	applied, rejected := p.poll()
	if len(applied) != 1 || len(rejected) != 0 {
		t.Fatalf("poll applied %d snapshots and rejected %v, want one snapshot", len(applied), rejected)
	}
	return applied[0]
}

// pollReject polls once and returns the rejection, failing unless the poll
// rejected exactly once and applied nothing.
func (p *polled) pollReject(t *testing.T) error {
	t.Helper()
	applied, rejected := p.poll()
	if len(applied) != 0 || len(rejected) != 1 {
		t.Fatalf("poll applied %d snapshots and rejected %v, want one rejection", len(applied), rejected)
	}
	return rejected[0]
}

// pollNothing polls once and fails if the poll reported anything.
func (p *polled) pollNothing(t *testing.T) {
	t.Helper()
	if applied, rejected := p.poll(); len(applied) != 0 || len(rejected) != 0 {
		t.Fatalf("poll of unchanged files applied %d snapshots and rejected %v, want nothing", len(applied), rejected)
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
	p := newPolled(dir)

	if got := limitOf(p.pollApply(t)); got != 1 {
		t.Fatalf("first snapshot limit = %d, want 1", got)
	}
	p.pollNothing(t) // unchanged content is not reloaded

	writeFile(t, file, policyWith("2"))
	if got := limitOf(p.pollApply(t)); got != 2 {
		t.Fatalf("reloaded limit = %d, want 2", got)
	}

	// A bad edit is reported once, with its position, and nothing is applied:
	// the caller keeps serving the last good snapshot.
	writeFile(t, file, "domain: api\ndescriptors: [{key: k, rate_limit: {unit: second, request_per_unit: 3}}]\n")
	err := p.pollReject(t)
	if !strings.Contains(err.Error(), file+`:2:51: descriptor "k": unknown key "request_per_unit"`) {
		t.Errorf("rejection = %v", err)
	}
	p.pollNothing(t)

	// A second file with the same domain is a cross-file problem. Both edits
	// land before the next poll, so the valid state between them is never
	// seen.
	writeFile(t, file, policyWith("3"))
	writeFile(t, filepath.Join(dir, "dup.yaml"), "domain: api\n")
	if err := p.pollReject(t); !strings.Contains(err.Error(), `domain "api" is already defined`) {
		t.Errorf("rejection = %v", err)
	}

	if err := os.Remove(filepath.Join(dir, "dup.yaml")); err != nil {
		t.Fatal(err)
	}
	if got := limitOf(p.pollApply(t)); got != 3 {
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

	p := newPolled(dir)
	if got := limitOf(p.pollApply(t)); got != 1 {
		t.Fatalf("limit = %d, want 1", got)
	}
	must(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	if got := limitOf(p.pollApply(t)); got != 2 {
		t.Fatalf("limit after swap = %d, want 2", got)
	}
}

func TestWatchReportsMissingPath(t *testing.T) {
	p := newPolled(filepath.Join(t.TempDir(), "nope"))
	if err := p.pollReject(t); !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("rejection = %v", err)
	}
	p.pollNothing(t) // the same failure is reported once
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
