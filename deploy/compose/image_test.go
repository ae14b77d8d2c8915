package compose

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerignoreKeepsWhatTheImageNeeds copies the repository as Docker
// would send it (without what .dockerignore excludes) and checks that the
// Dockerfile's COPY sources are there and that ./cmd/floodgate and every
// package it imports resolve, embedded files included.
func TestDockerignoreKeepsWhatTheImageNeeds(t *testing.T) {
	ignore := readDockerignore(t, filepath.Join(repoRoot, ".dockerignore"))
	for _, must := range []string{".git/HEAD", "docs/performance.md", "ratelimit/testdata", "envoy/front-proxy.yaml"} {
		if !ignore.excludes(must) {
			t.Errorf(".dockerignore sends %s", must)
		}
	}
	dir := t.TempDir()
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if ignore.excludes(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range dockerfileCopySources(t, filepath.Join(repoRoot, "Dockerfile")) {
		if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
			t.Errorf("Dockerfile copies %s, which .dockerignore leaves out", src)
		}
	}
	// go list reports a missing package or an embed pattern matching no
	// file as the package's error, without compiling anything.
	cmd := exec.Command("go", "list", "-e", "-deps", "-f", "{{with .Error}}{{.}}{{end}}", "./cmd/floodgate")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("./cmd/floodgate in the build context: %v\n%s", err, out)
	}
}

// dockerignore holds .dockerignore's patterns, in order; a "!" pattern
// brings back what an earlier one excluded.
type dockerignore []struct {
	re     *regexp.Regexp
	negate bool
}

func readDockerignore(t *testing.T, file string) dockerignore {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var d dockerignore
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		pat := strings.TrimPrefix(strings.TrimPrefix(line, "!"), "/")
		if strings.ContainsAny(pat, "[\\") {
			t.Fatalf(".dockerignore: %q: this test reads only *, ? and ** patterns", line)
		}
		d = append(d, struct {
			re     *regexp.Regexp
			negate bool
		}{globRegexp(pat), neg})
	}
	return d
}

// globRegexp is Docker's reading of a pattern: * and ? within one path
// element, ** across any number of them; a pattern that matches a directory
// matches everything under it.
func globRegexp(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pat); i++ {
		switch {
		case strings.HasPrefix(pat[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(pat[i:], "**"):
			b.WriteString(".*")
			i++
		case pat[i] == '*':
			b.WriteString("[^/]*")
		case pat[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
		}
	}
	b.WriteString("(/.*)?$")
	return regexp.MustCompile(b.String())
}

func (d dockerignore) excludes(path string) bool {
	out := false
	for _, p := range d {
		if p.re.MatchString(path) {
			out = !p.negate
		}
	}
	return out
}

// dockerfileCopySources are the sources of the Dockerfile's COPY lines that
// read the build context (not --from another stage).
func dockerfileCopySources(t *testing.T, file string) []string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var srcs []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.EqualFold(f[0], "COPY") || strings.HasPrefix(f[1], "--from") {
			continue
		}
		for _, s := range f[1 : len(f)-1] {
			if s != "." {
				srcs = append(srcs, s)
			}
		}
	}
	if len(srcs) == 0 {
		t.Fatal("Dockerfile has no COPY from the build context")
	}
	return srcs
}
