package policy

// Override is the limit a request descriptor carries itself (Envoy's
// per-descriptor `limit`), with its unit already read from the wire.
type Override struct {
	RequestsPerUnit uint32
	Unit            Unit
}

// Resolved is what a descriptor resolved to: the limit in force, the window
// its hits fall in and, through AppendKey, the counter they go to.
type Resolved struct {
	// Limit is the matched rule; nil when none matched, and for an override,
	// which counts under the request's own values (and, where the KeyFormat
	// keys overrides apart, under the override's limit and unit too).
	Limit *Limit
	// Override reports that the descriptor's own limit is in force.
	Override bool
	// RequestsPerUnit and Unit are the effective limit: the rule's, or the
	// override's.
	RequestsPerUnit uint32
	Unit            Unit
	// WindowStart is the start (Unix seconds) of the window the hits fall
	// in; meaningful only when Counted.
	WindowStart int64
}

// Resolve is the one rule for turning a hit into a limit, a window and a
// counter key; the RLS and the throttle engine both call it, so that a
// decision names the counter a replica looks up. A descriptor's own limit
// applies when its domain is configured; otherwise the rule Find returns.
// An override whose unit is unknown is ignored, not obeyed: it would
// resolve to a limit that counts nothing, letting one request switch its
// limit off. unixTime is any instant inside the window. Resolve does not
// allocate.
func Resolve[E Entry](s *Snapshot, domain string, entries []E, o *Override, unixTime int64) Resolved {
	var r Resolved
	if o != nil && o.Unit != UnitUnknown && s.HasDomain(domain) {
		r = Resolved{Override: true, RequestsPerUnit: o.RequestsPerUnit, Unit: o.Unit}
	} else if l := Find(s, domain, entries); l != nil {
		r = Resolved{Limit: l, RequestsPerUnit: l.RequestsPerUnit, Unit: l.Unit}
	} else {
		return r
	}
	if r.Counted() {
		r.WindowStart = r.Unit.WindowStart(unixTime)
	}
	return r
}

// Counted reports whether the descriptor's hits are counted: a limit
// applies, it is not unlimited, and its unit is known.
func (r *Resolved) Counted() bool {
	if r.Limit == nil && !r.Override {
		return false
	}
	return r.Unit != UnitUnknown && (r.Limit == nil || !r.Limit.Unlimited)
}

// WindowEnd is the end (Unix seconds) of the window the hits fall in.
func (r *Resolved) WindowEnd() int64 { return r.WindowStart + r.Unit.Seconds() }
