package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// errUsage reports bad flags; the flag package has already said what.
var errUsage = errors.New("usage")

// errOverLimit is `client --fail-over-limit` seeing OVER_LIMIT; the answer
// is already printed. It exits exitOverLimit, apart from errors (1) and
// bad flags (2), so that a script can tell a limit from a failure.
var errOverLimit = errors.New("over limit")

const exitOverLimit = 3

// listFlag is a flag that may be repeated; a value may also hold several
// comma-separated items.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// items splits every value at commas and drops empty items.
func (l listFlag) items() []string {
	var out []string
	for _, v := range l {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// parseFlags parses args, then fills every flag not given on the command
// line from FLOODGATE_<NAME> (dashes become underscores).
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "FLOODGATE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, e)
			}
		}
	})
	return err
}
