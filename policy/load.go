package policy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// source is the raw content of one policy file.
type source struct {
	name string
	data []byte
}

// LoadOptions say which files a directory contributes and how they are
// read. The zero value is Floodgate's strict reading of *.yaml and *.yml
// files; envoyproxy/ratelimit's (goruntime's) is AllFiles, Dotfiles unless
// RUNTIME_IGNOREDOTFILES, Lenient, and MergeDomains with
// MERGE_DOMAIN_CONFIG.
type LoadOptions struct {
	CompileOptions
	// AllFiles reads every file of a directory, whatever its name ends
	// with, as goruntime does; otherwise only *.yaml and *.yml.
	AllFiles bool
	// Dotfiles reads files and directories whose names start with "."
	// (skipped by default, which also skips the "..data" entries of a
	// Kubernetes ConfigMap volume).
	Dotfiles bool
}

// Load reads policy files. Each path is a file, read whatever its name, or a
// directory, walked recursively in name order for the files LoadOptions
// select (a directory reached through a symbolic link is not entered, as
// goruntime does not). It returns the configs that parsed and, as Errors,
// every problem of every file.
func Load(paths ...string) ([]*Config, error) {
	return LoadWith(LoadOptions{}, paths...)
}

// LoadWith is Load with options.
func LoadWith(opts LoadOptions, paths ...string) ([]*Config, error) {
	sources, errs := readSources(paths, opts)
	configs, perrs := parseSources(sources, opts.Lenient)
	return configs, append(errs, perrs...).err()
}

// LoadSnapshot is Load followed by Compile, reporting the problems of both.
func LoadSnapshot(paths ...string) (*Snapshot, error) {
	return LoadSnapshotWith(LoadOptions{}, paths...)
}

// LoadSnapshotWith is LoadWith followed by CompileWith.
func LoadSnapshotWith(opts LoadOptions, paths ...string) (*Snapshot, error) {
	sources, errs := readSources(paths, opts)
	return compileSources(sources, errs, opts)
}

func compileSources(sources []source, readErrs Errors, opts LoadOptions) (*Snapshot, error) {
	configs, errs := parseSources(sources, opts.Lenient)
	errs = append(readErrs, errs...)
	snap, err := CompileWith(configs, opts.CompileOptions)
	var cerrs Errors
	if errors.As(err, &cerrs) {
		errs = append(errs, cerrs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return snap, nil
}

func parseSources(sources []source, lenient bool) ([]*Config, Errors) {
	var configs []*Config
	var errs Errors
	for _, s := range sources {
		c, err := parse(s.name, s.data, lenient)
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
func readSources(paths []string, opts LoadOptions) ([]source, Errors) {
	var out []source
	var errs Errors
	fail := func(name string, err error) {
		errs = append(errs, &Error{Source: name, Problem: unwrapPathError(err)})
	}
	read := func(name string) {
		data, err := os.ReadFile(name)
		if err != nil {
			fail(name, err)
			return
		}
		out = append(out, source{name: name, data: data})
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			fail(p, err)
			continue
		}
		if !info.IsDir() {
			read(p)
			continue
		}
		// WalkDir visits in lexical order and does not follow symbolic
		// links to directories, so a link cycle cannot loop.
		err = filepath.WalkDir(p, func(full string, e fs.DirEntry, err error) error {
			if err != nil {
				fail(full, err)
				return nil
			}
			if full == p {
				return nil
			}
			hidden := strings.HasPrefix(e.Name(), ".") && !opts.Dotfiles
			if e.IsDir() {
				if hidden {
					return filepath.SkipDir
				}
				return nil
			}
			if hidden || !opts.wants(e.Name()) {
				return nil
			}
			if e.Type()&fs.ModeSymlink != 0 {
				// Stat, not the entry: ConfigMap files are symlinks.
				fi, err := os.Stat(full)
				if err != nil {
					fail(full, err)
					return nil
				}
				if fi.IsDir() {
					return nil
				}
			}
			read(full)
			return nil
		})
		if err != nil {
			fail(p, err)
		}
	}
	return out, errs
}

// wants reports whether a file of this name, inside a directory, is read.
func (o LoadOptions) wants(name string) bool {
	if o.AllFiles {
		return true
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
