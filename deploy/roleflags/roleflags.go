// Package roleflags checks the command lines deployment files write for
// floodgate's roles against the flags each role of the built binary has, so
// that a renamed or removed flag breaks a test instead of a deployment.
package roleflags

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Binary is a built floodgate binary whose roles' flags are read from their
// -h output.
type Binary struct {
	Path string

	mu    sync.Mutex
	roles map[string]map[string]bool // role -> flag name -> takes a value
}

// Build builds ./cmd/floodgate of the module at repoRoot into dir.
func Build(ctx context.Context, repoRoot, dir string) (*Binary, error) {
	path := filepath.Join(dir, "floodgate")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/floodgate")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/floodgate in %s: %w\n%s", repoRoot, err, out)
	}
	return &Binary{Path: path}, nil
}

// Flags are the flags of role, each mapped to whether it takes a value.
func (b *Binary) Flags(role string) (map[string]bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.roles[role]; ok {
		return f, nil
	}
	// -h prints the usage and exits 0; an unknown role exits 2.
	out, err := exec.Command(b.Path, role, "-h").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("floodgate %s -h: %w\n%s", role, err, out)
	}
	flags := parseUsage(out)
	if len(flags) == 0 {
		return nil, fmt.Errorf("floodgate %s -h listed no flags:\n%s", role, out)
	}
	if b.roles == nil {
		b.roles = map[string]map[string]bool{}
	}
	b.roles[role] = flags
	return flags, nil
}

// parseUsage reads flag.PrintDefaults output: "  -name" alone for a
// boolean flag, "  -name TYPE" for one that takes a value.
func parseUsage(out []byte) map[string]bool {
	flags := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "  -") {
			continue
		}
		name, typ, _ := strings.Cut(strings.TrimPrefix(line, "  -"), " ")
		flags[name] = strings.TrimSpace(typ) != ""
	}
	return flags
}

// Check checks a command line: args[0] is the role, every other argument a
// flag of that role (-name, --name, --name=value, or --name value for a flag
// that takes one). It returns every problem found, joined.
func (b *Binary) Check(args []string) error {
	if len(args) == 0 {
		return errors.New("no role")
	}
	role := args[0]
	flags, err := b.Flags(role)
	if err != nil {
		return err
	}
	var errs []error
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			errs = append(errs, fmt.Errorf("%s: argument %q is not a flag", role, a))
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := flags[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: no flag --%s", role, name))
		case takesValue && !hasValue:
			if i+1 == len(args) {
				errs = append(errs, fmt.Errorf("%s: --%s needs a value", role, name))
			}
			i++
		}
	}
	return errors.Join(errs...)
}
