package main

import (
	"errors"
	"flag"
)

// stopIncrementFlag is --stop-increment-over-limit, envoyproxy/ratelimit's
// STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT: exact mode only, for only exact
// mode counts each request in the store as it answers.
type stopIncrementFlag struct {
	on bool
}

func (f *stopIncrementFlag) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "stop-increment-over-limit", false, "exact mode: when a request passes the limit of any of its descriptors, count its hits only on those (envoyproxy/ratelimit's STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT); one more store round trip per request")
}

// check refuses the flag outside exact mode, where it would do nothing.
func (f stopIncrementFlag) check(mode string) error {
	if f.on && mode != "exact" {
		return errors.New("--stop-increment-over-limit: exact mode only (serve --mode exact)")
	}
	return nil
}
