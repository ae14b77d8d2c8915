package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/floodgate/floodgate/policy"
)

// runCheckConfig validates policy files: exit 0 with a summary, or exit 1
// with every error, one a line.
func runCheckConfig(_ context.Context, args []string) error {
	return checkConfig(args, os.Stdout, os.Stderr)
}

func checkConfig(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	var lf loadFlags
	lf.register(fs, "strict")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: floodgate check-config [--strict] PATH...")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	snap, err := policy.LoadSnapshotWith(lf.options(), fs.Args()...)
	if err == nil {
		// A path with no policy would start a server that limits nothing.
		if missing := policy.MissingPolicies(fs.Args(), snap.Configs()); len(missing) > 0 {
			err = missing
		}
	}
	if err == nil {
		printWarnings(stdout, snap)
		printSummary(stdout, snap)
		return nil
	}
	printErrors(stderr, err)
	return errCheckFailed
}

// errCheckFailed makes the command exit 1 after the errors are printed.
var errCheckFailed = errors.New("policies are invalid")

func printSummary(w io.Writer, snap *policy.Snapshot) {
	rules := map[string]int{}
	for _, l := range snap.Limits {
		rules[l.Domain]++
	}
	for _, c := range snap.Configs() {
		fmt.Fprintf(w, "%s: domain %q, %d rules\n", strings.Join(c.Sources(), ", "), c.Domain, rules[c.Domain])
	}
	fmt.Fprintf(w, "ok: %d domains, %d rules\n", len(snap.Configs()), len(snap.Limits))
}

// printErrors prints each error of a joined error on its own line.
func printErrors(w io.Writer, err error) {
	var many interface{ Unwrap() []error }
	if errors.As(err, &many) {
		for _, e := range many.Unwrap() {
			printErrors(w, e)
		}
		return
	}
	fmt.Fprintln(w, err)
}
