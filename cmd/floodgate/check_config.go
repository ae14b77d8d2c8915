package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/floodgate/floodgate/policy"
)

// runCheckConfig validates policy files: exit 0 with a summary, or exit 1
// with every error, one a line.
func runCheckConfig(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: floodgate check-config PATH...")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	configs, err := policy.Load(fs.Args()...)
	if err == nil {
		var snap *policy.Snapshot
		if snap, err = policy.Compile(configs); err == nil {
			printSummary(snap)
			return nil
		}
	}
	printErrors(err)
	return errCheckFailed
}

// errCheckFailed makes the command exit 1 after the errors are printed.
var errCheckFailed = errors.New("policies are invalid")

func printSummary(snap *policy.Snapshot) {
	rules := map[string]int{}
	for _, l := range snap.Limits {
		rules[l.Domain]++
	}
	for _, c := range snap.Configs() {
		fmt.Printf("%s: domain %q, %d rules\n", c.Source, c.Domain, rules[c.Domain])
	}
	fmt.Printf("ok: %d domains, %d rules\n", len(snap.Configs()), len(snap.Limits))
}

// printErrors prints each error of a joined error on its own line.
func printErrors(err error) {
	var many interface{ Unwrap() []error }
	if errors.As(err, &many) {
		for _, e := range many.Unwrap() {
			printErrors(e)
		}
		return
	}
	fmt.Fprintln(os.Stderr, err)
}
