package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// runVersion prints the version: `floodgate version` or `floodgate --version`.
func runVersion(_ context.Context, _ []string) error {
	return writeVersion(os.Stdout)
}

func writeVersion(w io.Writer) error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		_, err := fmt.Fprintln(w, "floodgate (no build information)")
		return err
	}
	_, err := fmt.Fprintln(w, versionLine(bi))
	return err
}

// versionLine is "floodgate <module version> (<vcs revision>)", as the Go
// toolchain stamped them: a release tag or a pseudo-version when built
// from a module or a checkout, "(devel)" otherwise; the revision is cut to
// 12 characters and marked +dirty when the checkout had changes.
func versionLine(bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	revision, dirty := "unknown revision", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
			if len(revision) > 12 {
				revision = revision[:12]
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		revision += "+dirty"
	}
	return fmt.Sprintf("floodgate %s (%s)", version, revision)
}
