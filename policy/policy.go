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

// WindowStart is the start (Unix seconds) of the window of unit u that holds now.
func (u Unit) WindowStart(nowUnix int64) int64 {
	d := u.Seconds()
	if d == 0 {
		return nowUnix
	}
	return nowUnix / d * d
}

// Limit is one compiled rate_limit: the rule a request descriptor matched.
// It is shared by every request that matches it and must not be modified.
type Limit struct {
	Domain          string
	Name            string // rate_limit.name; empty when not configured
	RequestsPerUnit uint32 // 0 means every request is over the limit
	Unit            Unit
	Unlimited       bool
	ShadowMode      bool     // the rule's own shadow_mode
	QuotaMode       bool     // over the limit: reported, never denied
	Replaces        []string // names of limits this one replaces
	DetailedMetric  bool

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
}

// Entry is one key/value pair of a request descriptor.
type Entry interface {
	GetKey() string
	GetValue() string
}
