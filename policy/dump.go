package policy

import (
	"fmt"
	"io"
)

// WriteDump writes the rules of s in the text of envoyproxy/ratelimit's
// /rlconfig (its config Dump), one line a rule:
//
//	domain.key_value.key: unit=MINUTE requests_per_unit=10, shadow_mode: false, quota_mode: false
//
// A rule using Floodgate's extensions has them added at the end
// (", algorithm: token_bucket, burst: 200", ", unit_multiplier: 10",
// ", scope: global"); the
// lines of every other rule are envoyproxy/ratelimit's.
//
// An unlimited rule has unit=UNKNOWN. envoyproxy/ratelimit prints in map
// order, which varies; here the rules come in config order, domains sorted.
func WriteDump(w io.Writer, s *Snapshot) error {
	if s == nil {
		return nil
	}
	for _, l := range s.Limits {
		ext := ""
		if l.Algorithm != FixedWindow {
			ext += ", algorithm: " + l.Algorithm.String()
		}
		if l.Algorithm == TokenBucket {
			ext += fmt.Sprintf(", burst: %d", l.Burst)
		}
		if l.UnitMultiplier > 1 {
			ext += fmt.Sprintf(", unit_multiplier: %d", l.UnitMultiplier)
		}
		if l.Scope != ScopeDatacenter {
			ext += ", scope: " + l.Scope.String()
		}
		if _, err := fmt.Fprintf(w, "%s: unit=%s requests_per_unit=%d, shadow_mode: %t, quota_mode: %t%s\n",
			l.StatsKey, l.Unit, l.RequestsPerUnit, l.ShadowMode, l.QuotaMode, ext); err != nil {
			return err
		}
	}
	return nil
}
