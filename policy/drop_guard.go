package policy

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultMaxDropFraction is the largest share of the domains in force that
// one reload may remove when DropGuard.MaxDropFraction is zero.
const DefaultMaxDropFraction = 0.5

// DropGuard is the rule a new set of policies must pass before it replaces
// the set in force. Deleting or emptying a policy file is a one-line mistake
// that would switch rate limiting off fleet-wide while every health check
// stays green, so a reload that removes every domain, or more than a
// fraction of them, is refused unless the operator said a drop is intended.
// The file watcher and the control plane both ask the same DropGuard.
type DropGuard struct {
	// AllowDrop lets any reload through, including one that leaves no
	// domain, and a start on paths that hold no policy file.
	AllowDrop bool
	// MaxDropFraction is the largest fraction (0..1] of the domains in
	// force that one reload may remove. Zero means DefaultMaxDropFraction;
	// 1 leaves only the drop to no domain at all guarded.
	MaxDropFraction float64
}

func (g DropGuard) withDefaults() DropGuard {
	if g.MaxDropFraction <= 0 {
		g.MaxDropFraction = DefaultMaxDropFraction
	}
	return g
}

// DropError is a reload refused because it removes too many domains.
type DropError struct {
	InForce int      // domains in force
	Removed []string // the domains the reload would remove, sorted
	Left    int      // domains the reload would leave
	Max     float64  // the fraction allowed, when Left > 0
}

func (e *DropError) Error() string {
	why := "would leave no domain"
	if e.Left > 0 {
		why = fmt.Sprintf("would remove %d of %d domains, more than the %.0f%% allowed", len(e.Removed), e.InForce, e.Max*100)
	}
	return fmt.Sprintf("policy reload refused: it %s (removed: %s); the domains in force keep serving; if the drop is intended, restart with --allow-policy-drop or a larger --max-policy-drop",
		why, strings.Join(e.Removed, ", "))
}

// CheckReload returns a *DropError if replacing the domains inForce with
// next removes more than the guard allows. Both are sorted domain names, as
// Snapshot.Domains returns them.
func (g DropGuard) CheckReload(inForce, next []string) error {
	g = g.withDefaults()
	if g.AllowDrop || len(inForce) == 0 {
		return nil
	}
	removed := removedDomains(inForce, next)
	if len(removed) == 0 {
		return nil
	}
	if len(next) > 0 && float64(len(removed)) <= g.MaxDropFraction*float64(len(inForce)) {
		return nil
	}
	return &DropError{InForce: len(inForce), Removed: removed, Left: len(next), Max: g.MaxDropFraction}
}

// CheckDelete returns a *DropError if deleting domain on purpose (one
// admin API call) would leave no domain: an explicit delete of one domain
// passes the fraction rule, but not the drop to nothing.
func (g DropGuard) CheckDelete(domain string, left int) error {
	if g.AllowDrop || left > 0 {
		return nil
	}
	return &DropError{InForce: 1, Removed: []string{domain}}
}

// CheckStart returns an error naming every one of paths that holds no
// policy, given the configs loaded from them: a role started on an empty
// directory would serve without limits while looking healthy.
func (g DropGuard) CheckStart(paths []string, configs []*Config) error {
	if g.AllowDrop {
		return nil
	}
	empty := MissingPolicies(paths, configs)
	for _, e := range empty {
		e.Problem += "; refusing to start without limits (--allow-policy-drop allows it)"
	}
	return empty.err()
}

// MissingPolicies names, as Errors, every one of paths that none of configs
// was read from: a file that held no policy, or a directory with no policy
// file anywhere below it.
func MissingPolicies(paths []string, configs []*Config) Errors {
	var empty Errors
	for _, p := range paths {
		if !pathHolds(p, configs) {
			empty = append(empty, &Error{Source: p, Problem: "no policy file here (a directory is searched recursively for *.yaml and *.yml files, or for every file with --config-all-files)"})
		}
	}
	return empty
}

// pathHolds reports whether one of configs was read from p: p itself (a
// file) or a file anywhere below it (a directory).
func pathHolds(p string, configs []*Config) bool {
	clean := filepath.Clean(p)
	for _, c := range configs {
		for _, src := range c.Sources() {
			s := filepath.Clean(src)
			if src == p || s == clean || strings.HasPrefix(s, clean+string(filepath.Separator)) || clean == string(filepath.Separator) {
				return true
			}
		}
	}
	return false
}

// removedDomains lists the names of inForce missing from next; both sorted.
func removedDomains(inForce, next []string) []string {
	var out []string
	j := 0
	for _, d := range inForce {
		for j < len(next) && next[j] < d {
			j++
		}
		if j < len(next) && next[j] == d {
			continue
		}
		out = append(out, d)
	}
	return out
}
