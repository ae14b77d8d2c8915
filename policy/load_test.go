package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Write then rename, so a watcher polling meanwhile never sees a
	// half-written file.
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.yml"), "domain: beta\n")
	writeFile(t, filepath.Join(dir, "a.yaml"), "domain: alpha\n")
	writeFile(t, filepath.Join(dir, "c.YAML"), "domain: gamma\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "not a policy")
	writeFile(t, filepath.Join(dir, ".hidden.yaml"), "domain: hidden\n")
	writeFile(t, filepath.Join(dir, "sub", "d.yaml"), "domain: nested\n")
	extra := filepath.Join(t.TempDir(), "extra.conf") // named explicitly: read whatever its name
	writeFile(t, extra, "domain: extra\n")

	configs, err := Load(dir, extra)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range configs {
		got = append(got, c.Domain+"@"+filepath.Base(c.Source))
	}
	// Subdirectories are read too, as goruntime reads RUNTIME_ROOT.
	want := "alpha@a.yaml beta@b.yml gamma@c.YAML nested@d.yaml extra@extra.conf"
	if strings.Join(got, " ") != want {
		t.Errorf("loaded %v, want %s", got, want)
	}
}

func TestLoadReportsEveryFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), "domain: a\ndescriptors:\n  - key: k\n    rate_limit: {unit: often}\n")
	writeFile(t, filepath.Join(dir, "b.yaml"), "domain: b\nbogus: 1\n")
	writeFile(t, filepath.Join(dir, "c.yaml"), "domain: c\n")
	missing := filepath.Join(dir, "missing.yaml")

	configs, err := Load(dir, missing)
	if len(configs) != 1 || configs[0].Domain != "c" {
		t.Errorf("good configs = %v, want just c", configs)
	}
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
	for _, w := range []string{
		filepath.Join(dir, "a.yaml") + `:4:18: descriptor "k": unknown unit "often"`,
		filepath.Join(dir, "b.yaml") + `:2:1: unknown key "bogus" at the top level`,
		missing + `: stat: no such file or directory`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors\n%s\ndo not contain %q", err, w)
		}
	}
}

func TestLoadSnapshotDuplicateDomainAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "1-api.yaml"), "domain: api\n")
	writeFile(t, filepath.Join(dir, "2-api-again.yaml"), "domain: api\n")
	writeFile(t, filepath.Join(dir, "3-bad.yaml"), "domain: x\ndescriptors: [{key: ''}]\n")
	s, err := LoadSnapshot(dir)
	if s != nil || err == nil {
		t.Fatal("want an error")
	}
	for _, w := range []string{
		filepath.Join(dir, "2-api-again.yaml") + `:1:1: domain "api" is already defined in ` + filepath.Join(dir, "1-api.yaml") + ":1",
		filepath.Join(dir, "3-bad.yaml") + `:2:15: descriptor has an empty key`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors\n%s\ndo not contain %q", err, w)
		}
	}
}

func TestLoadSnapshotGood(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "api.yaml"), "domain: api\ndescriptors: [{key: k, rate_limit: {unit: second, requests_per_unit: 3}}]\n")
	s, err := LoadSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l := Find(s, "api", req("k", "v")); l == nil || l.RequestsPerUnit != 3 || l.Unit != Second {
		t.Errorf("limit = %+v", l)
	}
}
