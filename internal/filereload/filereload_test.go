package filereload

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/testkit"
)

// A file rotated as Kubernetes rotates a secret (a symlink swapped to a new
// file) is re-read once a check is due; a bad rotation keeps the last good
// value and is counted once, until the files change again.
func TestValueFollowsRotations(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "token")
	swap := func(target string) {
		tmp := link + ".new"
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	write("v1", "one")
	swap("v1")
	now := time.Unix(1_800_000_000, 0)
	st := gostats.NewStore(gostats.NewNullSink(), false)
	v, err := New(Options[string]{Paths: []string{link}, Every: time.Second, Stats: st, Logger: testkit.Quiet,
		Now: func() time.Time { return now },
		Load: func() (string, error) {
			b, err := os.ReadFile(link)
			if strings.HasPrefix(string(b), "bad") {
				return "", errors.New("not a token")
			}
			return string(b), err
		}})
	if err != nil {
		t.Fatal(err)
	}
	reloaded, failed := st.NewCounter("reloaded"), st.NewCounter("reload_failed")
	check := func(step, want string, wantReloaded, wantFailed uint64) {
		t.Helper()
		if got := v.Current(); got != want || reloaded.Value() != wantReloaded || failed.Value() != wantFailed {
			t.Fatalf("%s: %q (reloaded %d, failed %d), want %q (%d, %d)", step, got, reloaded.Value(), failed.Value(), want, wantReloaded, wantFailed)
		}
	}
	check("first read", "one", 0, 0)

	write("v2", "two-longer")
	swap("v2")
	check("rotated, check not yet due", "one", 0, 0)
	now = now.Add(time.Second)
	check("rotated, check due", "two-longer", 1, 0)

	write("v3", "bad rotation")
	swap("v3")
	now = now.Add(time.Second)
	check("bad rotation", "two-longer", 1, 1)
	now = now.Add(time.Second)
	check("bad rotation, checked again", "two-longer", 1, 1)

	write("v4", "four")
	swap("v4")
	now = now.Add(time.Second)
	check("good rotation after a bad one", "four", 2, 1)
}

// A process must not start on files it cannot read.
func TestNewFailsOnAnUnreadableFile(t *testing.T) {
	_, err := New(Options[string]{Paths: []string{"/nonexistent"}, Logger: testkit.Quiet,
		Load: func() (string, error) { _, err := os.ReadFile("/nonexistent"); return "", err }})
	if err == nil {
		t.Fatal("New read a file that does not exist")
	}
}
