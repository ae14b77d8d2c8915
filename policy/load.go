package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// source is the raw content of one policy file.
type source struct {
	name string
	data []byte
}

// Load reads policy files. Each path is a file, read whatever its name, or a
// directory, whose *.yaml and *.yml files are read in name order (not
// recursively; names starting with "." are skipped, which also skips the
// "..data" entries of a Kubernetes ConfigMap volume). It returns the configs
// that parsed and, as Errors, every problem of every file.
func Load(paths ...string) ([]*Config, error) {
	sources, errs := readSources(paths)
	configs, perrs := parseSources(sources)
	return configs, append(errs, perrs...).err()
}

// LoadSnapshot is Load followed by Compile, reporting the problems of both.
func LoadSnapshot(paths ...string) (*Snapshot, error) {
	sources, errs := readSources(paths)
	return compileSources(sources, errs)
}

func compileSources(sources []source, readErrs Errors) (*Snapshot, error) {
	configs, errs := parseSources(sources)
	errs = append(readErrs, errs...)
	snap, err := Compile(configs)
	var cerrs Errors
	if errors.As(err, &cerrs) {
		errs = append(errs, cerrs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return snap, nil
}

func parseSources(sources []source) ([]*Config, Errors) {
	var configs []*Config
	var errs Errors
	for _, s := range sources {
		c, err := Parse(s.name, s.data)
		var perrs Errors
		switch {
		case errors.As(err, &perrs):
			errs = append(errs, perrs...)
		case err != nil:
			errs = append(errs, &Error{Source: s.name, Problem: err.Error()})
		default:
			configs = append(configs, c)
		}
	}
	return configs, errs
}

// readSources lists and reads the files behind paths.
func readSources(paths []string) ([]source, Errors) {
	var out []source
	var errs Errors
	fail := func(name string, err error) {
		errs = append(errs, &Error{Source: name, Problem: unwrapPathError(err)})
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			fail(p, err)
			continue
		}
		if !info.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				fail(p, err)
				continue
			}
			out = append(out, source{name: p, data: data})
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			fail(p, err)
			continue
		}
		var names []string
		for _, e := range entries {
			if isPolicyFile(e.Name()) {
				names = append(names, e.Name())
			}
		}
		slices.Sort(names)
		for _, n := range names {
			full := filepath.Join(p, n)
			// Stat, not the directory entry: ConfigMap files are symlinks.
			if fi, err := os.Stat(full); err != nil {
				fail(full, err)
				continue
			} else if fi.IsDir() {
				continue
			}
			data, err := os.ReadFile(full)
			if err != nil {
				fail(full, err)
				continue
			}
			out = append(out, source{name: full, data: data})
		}
	}
	return out, errs
}

func isPolicyFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// unwrapPathError drops the path an *os.PathError repeats, since Error.Source
// already names it.
func unwrapPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// ParseSnapshot parses one document and compiles it alone: a domain's
// policies held in memory rather than in files.
func ParseSnapshot(name string, data []byte) (*Snapshot, error) {
	c, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	return Compile([]*Config{c})
}
