package main

import "flag"

// quotaFlags are --quota-mode, envoyproxy/ratelimit's QUOTA_MODE: every
// descriptor answered as a quota_mode one.
type quotaFlags struct {
	global bool
}

func (f *quotaFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.global, "quota-mode", false, "every descriptor in quota mode (envoyproxy/ratelimit's QUOTA_MODE): one over its limit is answered OK and listed in the dynamic metadata's quotaModeViolations, never denied")
}
