package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/floodgate/floodgate/policy"
)

// loadFlags say which files of a --config directory are policies and how
// strictly they are read (policy.LoadOptions). The defaults read *.yaml and
// *.yml below the directory and accept what envoyproxy/ratelimit accepts,
// with warnings.
type loadFlags struct {
	strict   bool
	merge    bool
	allFiles bool
	dotfiles bool
}

// register adds the flags; strictName is the name of the strictness flag
// (check-config's --strict, a server's --strict-config).
func (f *loadFlags) register(fs *flag.FlagSet, strictName string) {
	fs.BoolVar(&f.strict, strictName, false, "reject, instead of accepting with a warning, what envoyproxy/ratelimit tolerates: a key where it has no meaning (unit beside key, shadow_mode inside rate_limit), metadata without rate_limit, replaces naming no rule, a second YAML document in a file")
	fs.BoolVar(&f.merge, "merge-domain-config", false, "merge the files that define one domain (their top-level descriptors are joined), as envoyproxy/ratelimit's MERGE_DOMAIN_CONFIG; otherwise a domain defined twice is an error")
	fs.BoolVar(&f.allFiles, "config-all-files", false, "read every file below a --config directory, whatever its extension, as envoyproxy/ratelimit reads RUNTIME_ROOT; otherwise only *.yaml and *.yml")
	fs.BoolVar(&f.dotfiles, "config-dotfiles", false, "also read files and directories whose names start with '.' (envoyproxy/ratelimit does unless RUNTIME_IGNOREDOTFILES=true; skipping them skips a ConfigMap volume's ..data copies)")
}

func (f loadFlags) options() policy.LoadOptions {
	return policy.LoadOptions{
		CompileOptions: policy.CompileOptions{Lenient: !f.strict, MergeDomains: f.merge},
		AllFiles:       f.allFiles,
		Dotfiles:       f.dotfiles,
	}
}

// logWarnings logs what a lenient load tolerated, one record a problem.
func logWarnings(snap *policy.Snapshot) {
	for _, w := range snap.Warnings() {
		slog.Warn("policy accepted with a warning (--strict-config rejects it)", "warning", w.Error())
	}
}

// printWarnings prints what a lenient load tolerated, one a line.
func printWarnings(w io.Writer, snap *policy.Snapshot) {
	for _, e := range snap.Warnings() {
		fmt.Fprintf(w, "warning: %s\n", e)
	}
}
