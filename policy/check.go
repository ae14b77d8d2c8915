package policy

import (
	"fmt"
	"strconv"
	"strings"
)

const unitChoices = "second, minute, hour, day, week, month or year"

// checkConfig finds every problem one Config has on its own. It runs on
// parsed files and on configs built in code (xDS, admin API) alike, so it
// reads only Config fields; positions come from the parser when it was one.
func checkConfig(c *Config) Errors {
	ck := checker{source: c.Source}
	if c.Domain == "" && !c.domainAt.invalid {
		ck.add(c.domainAt, "", "domain is missing or empty")
	}
	ck.level(c.Descriptors, "")
	return ck.errs
}

type checker struct {
	source string
	errs   Errors
}

func (ck *checker) add(at position, path, format string, args ...any) {
	ck.errs = append(ck.errs, &Error{
		Source: ck.source, Line: at.line, Column: at.col,
		Descriptor: path, Problem: fmt.Sprintf(format, args...),
	})
}

// level checks the descriptors of one level and everything below them.
func (ck *checker) level(ds []Descriptor, parent string) {
	type keyValue struct {
		key   string
		match MatchKind
		value string
	}
	first := map[keyValue]*Descriptor{}
	for i := range ds {
		d := &ds[i]
		path := joinPath(parent, segment(d.Key, d.Value))
		here := position{line: d.Line, col: d.Column}

		kind, value := ck.match(d, path)
		if d.Key == "" {
			if at, _ := d.at("key"); !at.invalid {
				ck.add(here, path, "descriptor has an empty key")
			}
		} else if prev := first[keyValue{d.Key, kind, value}]; prev != nil {
			ck.add(here, path, "duplicate descriptor: %s at this level already%s", describe(d.Key, d.Value), lineNote(prev.Line))
		} else {
			first[keyValue{d.Key, kind, value}] = d
		}

		if d.ShareThreshold && kind == MatchExact && !strings.Contains(d.Value, "*") {
			at, _ := d.at("share_threshold")
			ck.add(at, path, "share_threshold needs a wildcard value (one with '*'), got %s, or match: cidr or regex", quoteOrNone(d.Value))
		}
		if d.Metadata != nil && !d.hasLimit() {
			at, _ := d.at("metadata")
			ck.add(at, path, "metadata has no rate_limit to belong to")
		}
		listAt, listWritten := d.at("rate_limits")
		if d.RateLimit != nil && (len(d.RateLimits) > 0 || listWritten) {
			ck.add(listAt, path, "rate_limit and rate_limits are both set: write one rate_limit, or every limit in rate_limits")
		} else {
			ck.limitList(d, path)
		}
		for _, la := range d.limits() {
			ck.rateLimit(d, la, path)
		}
		ck.level(d.Descriptors, path)
	}
}

// match checks a descriptor's `match` and value, and returns the kind and
// the value in the form two descriptors are compared by (a CIDR in its
// canonical form), so that 10.0.0.0/8 written twice is a duplicate.
func (ck *checker) match(d *Descriptor, path string) (MatchKind, string) {
	at, written := d.at("match")
	if at.invalid {
		return MatchExact, d.Value
	}
	kind, ok := ParseMatchKind(d.Match)
	if !ok {
		ck.add(at, path, "unknown match %q (want %s)", d.Match, matchChoices)
		return MatchExact, d.Value
	}
	if (written || d.Match != "") && d.Value == "" {
		if vat, _ := d.at("value"); !vat.invalid {
			ck.add(at, path, "match %s needs a value to match", kind)
		}
		return kind, d.Value
	}
	valueAt, _ := d.at("value")
	switch kind {
	case MatchCIDR:
		p, err := parseCIDR(d.Value)
		if err != nil {
			ck.add(valueAt, path, "%v", err)
			return kind, d.Value
		}
		return kind, p.String()
	case MatchRegex:
		if _, err := compileRegex(d.Value); err != nil {
			ck.add(valueAt, path, "%v", err)
		}
	}
	return kind, d.Value
}

// limitList checks what rate_limits needs beyond each limit's own checks:
// every limit named, no name twice, since counters and stats are told apart
// by name.
func (ck *checker) limitList(d *Descriptor, path string) {
	seen := map[string]int{}
	for i := range d.RateLimits {
		rl := &d.RateLimits[i]
		prefix := "rate_limits." + strconv.Itoa(i)
		at, _ := d.at(prefix)
		nameAt, written := d.at(prefix + ".name")
		switch {
		case nameAt.invalid:
		case rl.Name == "":
			if !written {
				nameAt = at
			}
			ck.add(nameAt, path, "each limit of rate_limits needs a name: its counter and stats are named by it")
		default:
			if j, dup := seen[rl.Name]; dup {
				first, _ := d.at("rate_limits." + strconv.Itoa(j))
				ck.add(nameAt, path, "two limits are named %q%s: each limit of rate_limits needs its own name", rl.Name, lineNote(first.line))
			} else {
				seen[rl.Name] = i
			}
		}
		if rl.Unlimited {
			uat, _ := d.at(prefix + ".unlimited")
			ck.add(uat, path, "unlimited has no place in rate_limits: leave the limit out instead")
		}
	}
}

func (ck *checker) rateLimit(d *Descriptor, la limitAt, path string) {
	rl, prefix := la.rl, la.prefix
	blockAt, _ := d.at(strings.TrimSuffix(prefix, "."))
	unitAt, written := d.at(prefix + "unit")
	if !written {
		unitAt = blockAt
	}
	unlimitedAt, _ := d.at(prefix + "unlimited")
	if rl.Unlimited {
		if rl.Unit != "" {
			ck.add(unitAt, path, "unit must not be set when unlimited is true")
		}
		if rpuAt, written := d.at(prefix + "requests_per_unit"); written || rl.RequestsPerUnit != 0 {
			ck.add(rpuAt, path, "requests_per_unit must not be set when unlimited is true")
		}
	} else if !unlimitedAt.invalid && !unitAt.invalid {
		if rl.Unit == "" {
			ck.add(unitAt, path, "rate_limit needs a unit (%s) or unlimited: true", unitChoices)
		} else if _, ok := ParseUnit(rl.Unit); !ok {
			ck.add(unitAt, path, "unknown unit %q (want %s)", rl.Unit, unitChoices)
		}
	}
	ck.extensions(d, rl, prefix, path)
	for i, name := range rl.Replaces {
		at, _ := d.at(prefix + "replaces." + strconv.Itoa(i))
		switch {
		case name == "" && !at.invalid:
			ck.add(at, path, "replaces entry has an empty name")
		case name != "" && name == rl.Name:
			ck.add(at, path, "rate_limit %q replaces itself", name)
		}
	}
}

// extensions checks algorithm, burst, unit_multiplier and scope. A field written
// as 0 is told from one left out by its position; a config built in code
// has none, and its 0 means "left out".
func (ck *checker) extensions(d *Descriptor, rl *RateLimit, prefix, path string) {
	algAt, algWritten := d.at(prefix + "algorithm")
	alg, ok := ParseAlgorithm(rl.Algorithm)
	if !ok && !algAt.invalid {
		ck.add(algAt, path, "unknown algorithm %q (want %s)", rl.Algorithm, algorithmChoices)
	}
	burstAt, burstWritten := d.at(prefix + "burst")
	burstWritten = burstWritten || rl.Burst != 0
	multAt, multWritten := d.at(prefix + "unit_multiplier")
	multWritten = multWritten || rl.UnitMultiplier != 0
	scopeAt, scopeWritten := d.at(prefix + "scope")
	scope, scopeOK := ParseScope(rl.Scope)
	if !scopeOK && !scopeAt.invalid {
		ck.add(scopeAt, path, "unknown scope %q (want %s)", rl.Scope, scopeChoices)
	}
	if scopeOK && scope == ScopeGlobal && ok && alg == TokenBucket && !scopeAt.invalid {
		// Refused rather than counted per datacenter: a global limit that
		// is not global would admit it once in each.
		ck.add(scopeAt, path, "scope global is not supported with algorithm token_bucket yet (use fixed_window or sliding_window, or scope datacenter)")
	}
	if rl.Unlimited {
		for _, f := range []struct {
			name    string
			at      position
			written bool
		}{{"algorithm", algAt, algWritten || rl.Algorithm != ""}, {"burst", burstAt, burstWritten}, {"unit_multiplier", multAt, multWritten}, {"scope", scopeAt, scopeWritten || rl.Scope != ""}} {
			if f.written {
				ck.add(f.at, path, "%s must not be set when unlimited is true", f.name)
			}
		}
		return
	}
	if burstWritten && !burstAt.invalid {
		switch {
		case ok && alg != TokenBucket:
			ck.add(burstAt, path, "burst needs algorithm: token_bucket (the bucket size has no meaning for %s)", alg)
		case rl.Burst == 0 && alg == TokenBucket:
			ck.add(burstAt, path, "burst must be at least 1 (leave it out for a bucket of requests_per_unit)")
		}
	}
	if multWritten && !multAt.invalid && rl.UnitMultiplier == 0 {
		ck.add(multAt, path, "unit_multiplier must be at least 1 (leave it out for windows of one unit)")
	}
}

func describe(key, value string) string {
	if value == "" {
		return fmt.Sprintf("key %q without a value is", key)
	}
	return fmt.Sprintf("key %q with value %q is", key, value)
}

func lineNote(line int) string {
	if line == 0 {
		return ""
	}
	return fmt.Sprintf(" (line %d)", line)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "no value"
	}
	return strconv.Quote(s)
}
