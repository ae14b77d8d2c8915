package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/floodgate/floodgate/internal/ratelimitenv"
)

// ratelimitEnv makes serve read envoyproxy/ratelimit's environment, so
// that its deployments start Floodgate unchanged: exact mode on the
// backend they name, their policies, ports and stats.
type ratelimitEnv struct {
	when    string
	lookup  ratelimitenv.Lookup
	env     *ratelimitenv.Env
	applied []ratelimitenv.Setting
	kept    []ratelimitenv.Setting // a flag or FLOODGATE_* variable won
}

func (e *ratelimitEnv) register(fs *flag.FlagSet) {
	fs.StringVar(&e.when, "ratelimit-env", "auto", "read envoyproxy/ratelimit's environment variables (RUNTIME_ROOT, REDIS_URL, USE_STATSD, PORT, ...) with its meanings and defaults: auto (when one of them is set), on or off; a flag or FLOODGATE_* variable wins over them")
}

// apply sets every flag of fs that the command line and FLOODGATE_*
// variables left unset from the environment, when it is to be read.
func (e *ratelimitEnv) apply(fs *flag.FlagSet) error {
	if e.lookup == nil {
		e.lookup = os.LookupEnv
	}
	switch e.when {
	case "off":
		return nil
	case "auto":
		if !ratelimitenv.Active(e.lookup) {
			return nil
		}
	case "on":
	default:
		return fmt.Errorf("--ratelimit-env %q: want auto, on or off", e.when)
	}
	env, err := ratelimitenv.Read(e.lookup)
	if err != nil {
		return fmt.Errorf("envoyproxy/ratelimit environment: %w", err)
	}
	e.env = env
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range env.Settings {
		if set[s.Flag] {
			e.kept = append(e.kept, s)
			continue
		}
		if err := fs.Set(s.Flag, s.Value); err != nil {
			return fmt.Errorf("envoyproxy/ratelimit environment: --%s from %s: %w", s.Flag, origin(s), err)
		}
		e.applied = append(e.applied, s)
	}
	return nil
}

// log says, once logging is installed, what the environment set and which
// of its variables Floodgate does not follow. It logs at warn, the level
// envoyproxy/ratelimit starts at.
func (e *ratelimitEnv) log() {
	if e.env == nil {
		return
	}
	var flags, kept []string
	for _, s := range e.applied {
		flags = append(flags, fmt.Sprintf("--%s=%s (%s)", s.Flag, s.Shown, origin(s)))
	}
	for _, s := range e.kept {
		kept = append(kept, "--"+s.Flag)
	}
	slog.Warn("serving with envoyproxy/ratelimit's environment", "flags", strings.Join(flags, " "), "overridden", strings.Join(kept, " "))
	for _, n := range e.env.Notes {
		if n.Supported {
			slog.Info("envoyproxy/ratelimit variable needs no setting", "var", n.Var, "why", n.Why)
		} else {
			slog.Warn("envoyproxy/ratelimit variable not supported", "var", n.Var, "why", n.Why)
		}
	}
}

func origin(s ratelimitenv.Setting) string {
	if len(s.From) == 0 {
		return "envoyproxy/ratelimit default"
	}
	return strings.Join(s.From, ",")
}
