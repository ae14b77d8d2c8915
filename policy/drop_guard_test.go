package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDropGuardCheckReload(t *testing.T) {
	abcd := []string{"a", "b", "c", "d"}
	for _, tc := range []struct {
		name        string
		guard       DropGuard
		inForce     []string
		next        []string
		wantRemoved []string // nil: allowed
	}{
		{"nothing in force yet", DropGuard{}, nil, nil, nil},
		{"no change", DropGuard{}, abcd, abcd, nil},
		{"domains added", DropGuard{}, []string{"b"}, abcd, nil},
		{"half removed", DropGuard{}, abcd, []string{"a", "c"}, nil},
		{"more than half removed", DropGuard{}, abcd, []string{"c"}, []string{"a", "b", "d"}},
		{"renamed: one removed, one added", DropGuard{}, []string{"a"}, []string{"b"}, []string{"a"}},
		{"every domain removed", DropGuard{}, abcd, nil, abcd},
		{"the only domain removed", DropGuard{MaxDropFraction: 1}, []string{"a"}, nil, []string{"a"}},
		{"a fraction of 1 allows any drop but the last", DropGuard{MaxDropFraction: 1}, abcd, []string{"d"}, nil},
		{"a smaller fraction", DropGuard{MaxDropFraction: 0.2}, abcd, []string{"a", "b", "c"}, []string{"d"}},
		{"drops allowed", DropGuard{AllowDrop: true}, abcd, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.guard.CheckReload(tc.inForce, tc.next)
			var drop *DropError
			switch {
			case tc.wantRemoved == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantRemoved == nil:
			case !errors.As(err, &drop):
				t.Fatalf("err = %v, want a *DropError", err)
			case strings.Join(drop.Removed, ",") != strings.Join(tc.wantRemoved, ","):
				t.Fatalf("removed = %v, want %v", drop.Removed, tc.wantRemoved)
			case !strings.Contains(err.Error(), strings.Join(tc.wantRemoved, ", ")):
				t.Fatalf("the error does not name what would be removed: %v", err)
			}
		})
	}
}

func TestDropGuardCheckDelete(t *testing.T) {
	if err := (DropGuard{}).CheckDelete("a", 1); err != nil {
		t.Errorf("deleting one of two domains: %v", err)
	}
	if err := (DropGuard{}).CheckDelete("a", 0); err == nil || !strings.Contains(err.Error(), "no domain") {
		t.Errorf("deleting the last domain: err = %v, want it refused", err)
	}
	if err := (DropGuard{AllowDrop: true}).CheckDelete("a", 0); err != nil {
		t.Errorf("deleting the last domain with drops allowed: %v", err)
	}
}

// Deleting the only file of a watched directory keeps the domains in force
// and is reported; restoring it is not a change; with drops allowed the
// deletion applies.
func TestWatchRefusesDeletingTheOnlyFile(t *testing.T) {
	for _, allow := range []bool{false, true} {
		dir := t.TempDir()
		file := filepath.Join(dir, "api.yaml")
		writeFile(t, file, policyWith("1"))
		p := newPolled(dir)
		p.w.guard = DropGuard{AllowDrop: allow}
		if got := limitOf(p.pollApply(t)); got != 1 {
			t.Fatalf("first snapshot limit = %d, want 1", got)
		}
		must(t, os.Remove(file))
		if allow {
			if snap := p.pollApply(t); len(snap.Domains()) != 0 {
				t.Fatalf("with drops allowed, the deletion applied %v, want no domain", snap.Domains())
			}
			continue
		}
		err := p.pollReject(t)
		var drop *DropError
		if !errors.As(err, &drop) || len(drop.Removed) != 1 || drop.Removed[0] != "api" {
			t.Fatalf("rejection = %v, want a drop of domain api", err)
		}
		p.pollNothing(t) // refused once, not every poll
		if strings.Join(p.w.inForce, ",") != "api" {
			t.Fatalf("the watcher forgot the domains in force")
		}
		// Putting the file back is a load like any other.
		writeFile(t, file, policyWith("2"))
		if got := limitOf(p.pollApply(t)); got != 2 {
			t.Fatalf("limit after restoring the file = %d, want 2", got)
		}
	}
}

func TestWatchRefusesToStartOnAnEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "README.md"), "not a policy\n")
	p := newPolled(dir)
	err := p.pollReject(t)
	if !strings.Contains(err.Error(), dir+": no policy file") {
		t.Fatalf("rejection = %v, want it to name %s", err, dir)
	}
	// Once a file appears the watcher starts.
	writeFile(t, filepath.Join(dir, "api.yaml"), policyWith("1"))
	if got := limitOf(p.pollApply(t)); got != 1 {
		t.Fatalf("limit = %d, want 1", got)
	}

	// A second path that holds nothing is named though the first holds a
	// policy; with drops allowed an empty start is accepted.
	empty := t.TempDir()
	p = newPolled(dir, empty)
	if err := p.pollReject(t); !strings.Contains(err.Error(), empty+": no policy file") || strings.Contains(err.Error(), dir+":") {
		t.Fatalf("rejection = %v, want it to name only %s", err, empty)
	}
	p = newPolled(empty)
	p.w.guard = DropGuard{AllowDrop: true}
	if snap := p.pollApply(t); len(snap.Domains()) != 0 {
		t.Fatalf("domains = %v", snap.Domains())
	}
}
