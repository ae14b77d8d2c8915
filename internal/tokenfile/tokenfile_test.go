package tokenfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/internal/testkit"
)

func TestTokensFollowTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	write := func(s string) {
		// A new file renamed over the old, as a rotation does.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("  first \n# comment\nsecond\n")
	now := time.Now()
	stats := nullstats.Scope()
	f, err := Open(path, Options{Stats: stats, Logger: testkit.Quiet, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Contains("first") || !f.Contains("second") || f.Contains("# comment") || f.Contains("") || f.First() != "first" {
		t.Fatalf("tokens of the first file: first=%q", f.First())
	}
	md, _ := Bearer{File: f}.GetRequestMetadata(context.Background())
	if md["authorization"] != "Bearer first" {
		t.Fatalf("metadata %v", md)
	}

	write("third\n")
	if f.Contains("third") {
		t.Fatal("re-read before a second passed")
	}
	now = now.Add(2 * time.Second)
	if !f.Contains("third") || f.Contains("first") {
		t.Fatal("the rotated file was not read")
	}

	write("\n# emptied\n")
	now = now.Add(2 * time.Second)
	if !f.Contains("third") {
		t.Fatal("a file with no token replaced the last good tokens")
	}
	if n := stats.NewCounter("token_file.reload_failed").Value(); n != 1 {
		t.Fatalf("token_file.reload_failed = %d", n)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Fatal("opened a missing file")
	}
}
