// Package ratelimitenv reads the environment variables of
// envoyproxy/ratelimit, with its meanings and defaults, and says which
// Floodgate flags they stand for, so that a deployment of
// envoyproxy/ratelimit starts Floodgate without a change.
package ratelimitenv

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lookup reads one variable, as os.LookupEnv does.
type Lookup func(name string) (string, bool)

// Setting is one flag the environment sets.
type Setting struct {
	Flag  string // without dashes: "redis"
	Value string
	// From names the variables the value comes from; empty when it is an
	// envoyproxy/ratelimit default that differs from Floodgate's own.
	From []string
	// Shown is Value with passwords masked, for logs.
	Shown string
}

// Note is a variable that is set and sets no flag: Floodgate needs no
// setting for it (Supported), or has no equivalent (a warning).
type Note struct {
	Var       string
	Supported bool
	Why       string
}

// Env is what the environment asks of Floodgate.
type Env struct {
	Settings []Setting
	Notes    []Note
}

// Active reports whether any variable that only envoyproxy/ratelimit
// reads is set. Names many programs share (HOST, LOG_LEVEL, LOG_FORMAT)
// are read once it is active, but do not make it so.
func Active(lookup Lookup) bool {
	for _, name := range variables {
		if _, ok := lookup(name); ok && !slices.Contains(sharedNames, name) {
			return true
		}
	}
	return false
}

// Read turns the environment into the flags of `floodgate serve` in exact
// mode. An error names the variable whose value envoyproxy/ratelimit would
// refuse too, or that Floodgate cannot follow.
func Read(lookup Lookup) (*Env, error) {
	r := &reader{lookup: lookup, used: map[string]bool{}}
	r.set("mode", "exact")
	r.listeners()
	r.logs()
	r.policies()
	r.backend()
	r.stats()
	r.answers()
	r.notes()
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return &r.env, nil
}

// reader reads variables, remembering which were read and what was wrong.
type reader struct {
	lookup Lookup
	env    Env
	used   map[string]bool
	errs   []error
}

// set records a flag from vars (none: a default).
func (r *reader) set(flag, value string, vars ...string) {
	r.setShown(flag, value, value, vars...)
}

func (r *reader) setShown(flag, value, shown string, vars ...string) {
	r.env.Settings = append(r.env.Settings, Setting{Flag: flag, Value: value, Shown: shown, From: r.given(vars)})
}

// given keeps the variables of vars that are set.
func (r *reader) given(vars []string) []string {
	var out []string
	for _, v := range vars {
		if _, ok := r.lookup(v); ok {
			out = append(out, v)
		}
	}
	return out
}

// has reports whether name is set, marking it read.
func (r *reader) has(name string) bool {
	r.used[name] = true
	_, ok := r.lookup(name)
	return ok
}

func (r *reader) str(name, def string) string {
	r.used[name] = true
	if v, ok := r.lookup(name); ok {
		return v
	}
	return def
}

func (r *reader) fail(name, value, want string) {
	r.errs = append(r.errs, fmt.Errorf("%s=%q: %s", name, value, want))
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, v, "want true or false")
	}
	return b
}

func (r *reader) integer(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, v, "want a whole number")
	}
	return n
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(name, v, "want a duration such as 10s")
	}
	return d
}

// notes accounts for every variable set and not read: a setting Floodgate
// does not need, or one it does not have.
func (r *reader) notes() {
	for _, name := range variables {
		if _, ok := r.lookup(name); !ok || r.used[name] {
			continue
		}
		if why, ok := needless[name]; ok {
			r.env.Notes = append(r.env.Notes, Note{Var: name, Supported: true, Why: why})
			continue
		}
		if why, ok := unsupported[name]; ok {
			r.env.Notes = append(r.env.Notes, Note{Var: name, Why: why})
			continue
		}
		r.env.Notes = append(r.env.Notes, Note{Var: name, Supported: true, Why: "not read with the other settings, as in envoyproxy/ratelimit"})
	}
}

// lower is envconfig's case-insensitive reading of an enumeration.
func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
