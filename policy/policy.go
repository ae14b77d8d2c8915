// Package policy loads, validates and compiles rate-limit policies written in
// the YAML format of envoyproxy/ratelimit, plus Floodgate's extensions.
//
// A Snapshot is immutable once built; readers share it without locks and a
// reload swaps in a new one.
package policy

import "strings"

// Unit is the length of a rate-limit window.
type Unit uint8

const (
	UnitUnknown Unit = iota
	Second
	Minute
	Hour
	Day
	Week
	Month
	Year
)

var unitNames = [...]string{"UNKNOWN", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "YEAR"}

// unitSeconds follows envoyproxy/ratelimit: a month is 30 days, a year 365.
var unitSeconds = [...]int64{0, 1, 60, 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400}

func (u Unit) String() string {
	if int(u) < len(unitNames) {
		return unitNames[u]
	}
	return unitNames[0]
}

// Seconds is the window length; windows are aligned to the Unix epoch.
func (u Unit) Seconds() int64 {
	if int(u) < len(unitSeconds) {
		return unitSeconds[u]
	}
	return 0
}

// ParseUnit reads a unit name, case-insensitively.
func ParseUnit(s string) (Unit, bool) {
	for i := Second; i <= Year; i++ {
		if strings.EqualFold(s, unitNames[i]) {
			return i, true
		}
	}
	return UnitUnknown, false
}

// WindowStart is the start (Unix seconds) of the window of unit u that
// holds now. A limit's window may span several units: use
// Limit.WindowStart or Resolved.WindowStart for a limit's.
func (u Unit) WindowStart(nowUnix int64) int64 { return WindowStartOf(u, 1, nowUnix) }

// Limit is one compiled rate_limit (or one entry of rate_limits): a rule a
// request descriptor matched. It is shared by every request that matches it
// and must not be modified.
//
// Several limits per descriptor: a descriptor with rate_limits compiles to
// one Limit per entry, each with its own Name, StatsKey, Index and counter
// key (see AppendKey), in config order. FindAll and Resolved.Limits return
// them all; Find and Resolved.Limit return the first, which is all that a
// caller that knows one limit per descriptor sees.
type Limit struct {
	Domain          string
	Name            string // rate_limit.name; empty when not configured
	RequestsPerUnit uint32 // 0 means every request is over the limit
	Unit            Unit
	// Algorithm is how the limit counts; the zero value is FixedWindow.
	Algorithm Algorithm
	// Burst is the bucket size of a TokenBucket: the configured burst, or
	// RequestsPerUnit when none is. 0 for the other algorithms.
	Burst uint32
	// UnitMultiplier makes each window that many units long; 0 and 1 both
	// mean one unit. Use WindowSeconds and WindowStart, never Unit.Seconds,
	// for the limit's window.
	UnitMultiplier uint32
	// Scope is where the limit is counted; the zero value is the
	// datacenter (today's behaviour).
	Scope          Scope
	Unlimited      bool
	ShadowMode     bool     // the rule's own shadow_mode
	QuotaMode      bool     // over the limit: reported, never denied
	Replaces       []string // names of limits this one replaces
	DetailedMetric bool

	// StatsKey names the rule in stats: domain then the configured path,
	// "domain.key_value.key2", as envoyproxy/ratelimit does.
	StatsKey string

	// Depth is the number of descriptor entries a request has when it matches.
	Depth int

	// SharedValue[i] is the configured wildcard value ("foo*") to use in the
	// cache key in place of the request's i-th value when that level has
	// share_threshold; "" means the request's own value.
	SharedValue []string

	// ValueToMetric[i] reports that level i has value_to_metric: its stats key
	// carries the request's value rather than the configured one.
	ValueToMetric []bool

	// ConfiguredValue[i] is the value level i is configured with: exact,
	// a wildcard ("foo*"), or "" for a key-only level; value_to_metric
	// stats keys name the levels without it by these.
	ConfiguredValue []string

	// Metadata is the rule's `metadata` map, returned to Envoy as
	// dynamic_metadata; nil when absent.
	Metadata map[string]any

	// Index is the rule's position in Snapshot.Limits, dense from 0.
	Index int

	// listName is the name of an entry of rate_limits ("" for rate_limit),
	// and keyTag what sets the limit's counter key apart (see AppendKey).
	listName string
	keyTag   string
}

// WindowSeconds is the length of the limit's window: UnitMultiplier units.
func (l *Limit) WindowSeconds() int64 { return WindowSeconds(l.Unit, l.UnitMultiplier) }

// WindowStart is the start (Unix seconds) of the limit's window holding
// nowUnix, aligned to the epoch.
func (l *Limit) WindowStart(nowUnix int64) int64 {
	return WindowStartOf(l.Unit, l.UnitMultiplier, nowUnix)
}

// InList reports whether the limit is an entry of a rate_limits list.
func (l *Limit) InList() bool { return l.listName != "" }

// Entry is one key/value pair of a request descriptor.
type Entry interface {
	GetKey() string
	GetValue() string
}
