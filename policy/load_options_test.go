package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadedNames(configs []*Config, root string) string {
	var got []string
	for _, c := range configs {
		rel, _ := filepath.Rel(root, c.Source)
		got = append(got, c.Domain+"@"+rel)
	}
	return strings.Join(got, " ")
}

// goruntime's reading of RUNTIME_ROOT: every file, dotfiles included unless
// ignored, subdirectories included, symbolic links to directories not
// entered.
func TestLoadAllFilesAndDotfiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), "domain: a\n")
	writeFile(t, filepath.Join(dir, "config", "b"), "domain: b\n")
	writeFile(t, filepath.Join(dir, "config", "deep", "c.conf"), "domain: c\n")
	writeFile(t, filepath.Join(dir, ".d.yaml"), "domain: d\n")
	writeFile(t, filepath.Join(dir, ".git", "e.yaml"), "domain: e\n")
	elsewhere := t.TempDir()
	writeFile(t, filepath.Join(elsewhere, "f.yaml"), "domain: f\n")
	if err := os.Symlink(elsewhere, filepath.Join(dir, "linked")); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		opts LoadOptions
		want string
	}{
		{LoadOptions{}, "a@a.yaml"},
		{LoadOptions{AllFiles: true}, "a@a.yaml b@config/b c@config/deep/c.conf"},
		{LoadOptions{AllFiles: true, Dotfiles: true}, "d@.d.yaml e@.git/e.yaml a@a.yaml b@config/b c@config/deep/c.conf"},
	} {
		configs, err := LoadWith(tc.opts, dir)
		if err != nil {
			t.Fatalf("%+v: %v", tc.opts, err)
		}
		if got := loadedNames(configs, dir); got != tc.want {
			t.Errorf("%+v: loaded %q, want %q", tc.opts, got, tc.want)
		}
	}
}

// A Kubernetes ConfigMap volume: the files are links through "..data" to a
// hidden directory, which is read once, through the links.
func TestLoadConfigMapVolume(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "..2026_01_01", "api.yaml"), "domain: api\n")
	for _, link := range [][2]string{{"..2026_01_01", "..data"}, {"..data/api.yaml", "api.yaml"}} {
		if err := os.Symlink(link[0], filepath.Join(dir, link[1])); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := LoadSnapshotWith(LoadOptions{AllFiles: true}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := loadedNames(snap.Configs(), dir); got != "api@api.yaml" {
		t.Errorf("loaded %q", got)
	}
}

func TestMissingPoliciesLooksBelow(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sub", "api.yaml"), "domain: api\n")
	empty := t.TempDir()
	writeFile(t, filepath.Join(empty, "notes.txt"), "domain: notes\n")
	configs, err := Load(dir, empty)
	if err != nil {
		t.Fatal(err)
	}
	missing := MissingPolicies([]string{dir, empty}, configs)
	if len(missing) != 1 || missing[0].Source != empty || !strings.Contains(missing[0].Problem, "no policy file here") {
		t.Fatalf("missing = %v, want only %s", missing, empty)
	}
}

// MERGE_DOMAIN_CONFIG: the files of one domain add their top-level
// descriptors to it; the same top-level descriptor twice is an error.
func TestLoadMergeDomains(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "1.yaml"), "domain: api\ndescriptors:\n  - key: a\n    rate_limit: {name: a, unit: second, requests_per_unit: 1}\n")
	writeFile(t, filepath.Join(dir, "2.yaml"), "domain: api\ndescriptors:\n  - key: b\n    rate_limit: {unit: minute, requests_per_unit: 2, replaces: [{name: a}]}\n")

	if _, err := LoadSnapshot(dir); err == nil || !strings.Contains(err.Error(), `domain "api" is already defined`) {
		t.Fatalf("without merging: %v", err)
	}
	merge := LoadOptions{CompileOptions: CompileOptions{MergeDomains: true}}
	snap, err := LoadSnapshotWith(merge, dir)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := Find(snap, "api", req("a", "x")), Find(snap, "api", req("b", "x")); a == nil || b == nil || b.Unit != Minute {
		t.Fatalf("merged domain: a=%+v b=%+v", a, b)
	}
	c := snap.Configs()
	if len(c) != 1 || strings.Join(c[0].Sources(), " ") != filepath.Join(dir, "1.yaml")+" "+filepath.Join(dir, "2.yaml") {
		t.Fatalf("configs %v", c)
	}
	if m := MissingPolicies([]string{filepath.Join(dir, "2.yaml")}, c); len(m) != 0 {
		t.Errorf("a merged file counts as holding a policy: %v", m)
	}

	writeFile(t, filepath.Join(dir, "3.yaml"), "domain: api\ndescriptors:\n  - key: c\n  - key: a\n    rate_limit: {unit: hour, requests_per_unit: 3}\n")
	_, err = LoadSnapshotWith(merge, dir)
	want := filepath.Join(dir, "3.yaml") + `:4:5: descriptor "a": duplicate descriptor in merged domain "api": key "a" without a value is already defined in ` + filepath.Join(dir, "1.yaml") + " (line 3)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

const tolerated = `domain: api
descriptors:
  - key: a
    unit: minute
    rate_limit:
      unit: second
      requests_per_unit: 1
      shadow_mode: true
      replaces: [{name: nobody}]
  - key: b
    metadata: {team: x}
---
domain: other
`

// What envoyproxy/ratelimit accepts is loaded with a warning naming
// file:line; a strict load rejects each.
func TestLoadLenientWarns(t *testing.T) {
	file := filepath.Join(t.TempDir(), "api.yaml")
	writeFile(t, file, tolerated)
	snap, err := LoadSnapshotWith(LoadOptions{CompileOptions: CompileOptions{Lenient: true}}, file)
	if err != nil {
		t.Fatal(err)
	}
	l := Find(snap, "api", req("a", "x"))
	if l == nil || l.Unit != Second || l.ShadowMode {
		t.Fatalf("limit %+v: want second, shadow_mode inside rate_limit ignored", l)
	}
	if snap.HasDomain("other") {
		t.Error("the second YAML document was read")
	}
	var got []string
	for _, w := range snap.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		file + `:4:5: descriptor "a": key "unit" is ignored in a descriptor: it belongs inside rate_limit`,
		file + `:8:7: descriptor "a": key "shadow_mode" is ignored in rate_limit: it belongs to a descriptor`,
		file + `:11:5: descriptor "b": metadata is ignored: it has no rate_limit to belong to`,
		file + `:12:1: a second YAML document is ignored: only the first is read (a file holds one domain)`,
		file + `:9:18: descriptor "a": replaces "nobody", but no rate_limit in domain "api" has that name`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Strictly, the file does not parse, so replaces is never looked at.
	_, err = LoadSnapshot(file)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != len(want)-1 {
		t.Fatalf("strict load: want %d errors, got %v", len(want)-1, err)
	}
	file2 := filepath.Join(filepath.Dir(file), "replaces.yaml")
	writeFile(t, file2, "domain: r\ndescriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, replaces: [{name: nobody}]}\n")
	if _, err := LoadSnapshot(file2); err == nil || !strings.Contains(err.Error(), `replaces "nobody", but no rate_limit`) {
		t.Errorf("strict load of replaces naming no rule: %v", err)
	}
}
