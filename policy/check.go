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
	type keyValue struct{ key, value string }
	first := map[keyValue]*Descriptor{}
	for i := range ds {
		d := &ds[i]
		path := joinPath(parent, segment(d.Key, d.Value))
		here := position{line: d.Line, col: d.Column}

		if d.Key == "" {
			if at, _ := d.at("key"); !at.invalid {
				ck.add(here, path, "descriptor has an empty key")
			}
		} else if prev := first[keyValue{d.Key, d.Value}]; prev != nil {
			ck.add(here, path, "duplicate descriptor: %s at this level already%s", describe(d.Key, d.Value), lineNote(prev.Line))
		} else {
			first[keyValue{d.Key, d.Value}] = d
		}

		if d.ShareThreshold && !strings.Contains(d.Value, "*") {
			at, _ := d.at("share_threshold")
			ck.add(at, path, "share_threshold needs a wildcard value (one with '*'), got %s", quoteOrNone(d.Value))
		}
		if d.Metadata != nil && d.RateLimit == nil {
			at, _ := d.at("metadata")
			ck.add(at, path, "metadata has no rate_limit to belong to")
		}
		if d.RateLimit != nil {
			ck.rateLimit(d, path)
		}
		ck.level(d.Descriptors, path)
	}
}

func (ck *checker) rateLimit(d *Descriptor, path string) {
	rl := d.RateLimit
	unitAt, written := d.at("rate_limit.unit")
	if !written {
		unitAt, _ = d.at("rate_limit")
	}
	unlimitedAt, _ := d.at("rate_limit.unlimited")
	if rl.Unlimited {
		if rl.Unit != "" {
			ck.add(unitAt, path, "unit must not be set when unlimited is true")
		}
		if rpuAt, written := d.at("rate_limit.requests_per_unit"); written || rl.RequestsPerUnit != 0 {
			ck.add(rpuAt, path, "requests_per_unit must not be set when unlimited is true")
		}
	} else if !unlimitedAt.invalid && !unitAt.invalid {
		if rl.Unit == "" {
			ck.add(unitAt, path, "rate_limit needs a unit (%s) or unlimited: true", unitChoices)
		} else if _, ok := ParseUnit(rl.Unit); !ok {
			ck.add(unitAt, path, "unknown unit %q (want %s)", rl.Unit, unitChoices)
		}
	}
	for i, name := range rl.Replaces {
		at, _ := d.at("rate_limit.replaces." + strconv.Itoa(i))
		switch {
		case name == "" && !at.invalid:
			ck.add(at, path, "replaces entry has an empty name")
		case name != "" && name == rl.Name:
			ck.add(at, path, "rate_limit %q replaces itself", name)
		}
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
