package main

import "flag"

// startFlags say whether a role serves before it has policies, and
// whether it is healthy meanwhile: envoyproxy/ratelimit's
// FORCE_START_WITHOUT_INITIAL_CONFIG and
// HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED.
type startFlags struct {
	force       bool
	healthyOnce bool
}

func (f *startFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.force, "force-start-without-config", false, "serve at once without policies: no wait for the control plane (--xds-wait), a --config path with no policy file yet is watched; healthy while no domain is in force unless --healthy-with-one-config")
	fs.BoolVar(&f.healthyOnce, "healthy-with-one-config", false, "with --force-start-without-config: healthy only once at least one domain is in force (without it, a role with no domain in force is never healthy)")
}

// healthyWithoutPolicies is whether health may be SERVING while no domain
// is in force.
func (f startFlags) healthyWithoutPolicies() bool { return f.force && !f.healthyOnce }
