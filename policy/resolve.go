package policy

// Override is the limit a request descriptor carries itself (Envoy's
// per-descriptor `limit`), with its unit already read from the wire.
type Override struct {
	RequestsPerUnit uint32
	Unit            Unit
	// UnitMultiplier is the override's unit_multiplier; 0 and 1 mean one
	// unit.
	UnitMultiplier uint32
}

// Resolved is what a descriptor resolved to: the limit in force, the window
// its hits fall in and, through AppendKey, the counter they go to.
type Resolved struct {
	// Limit is the matched rule; nil when none matched, and for an override,
	// which counts under the request's own values (and, where the KeyFormat
	// keys overrides apart, under the override's limit and unit too). For
	// a descriptor with rate_limits it is the first, Limits[0]; the fields
	// below are then its.
	Limit *Limit
	// Limits is every limit of the matched rule in config order (one for
	// rate_limit); nil for an override, which replaces them all. Nth
	// resolves each of them.
	Limits []*Limit
	// Override reports that the descriptor's own limit is in force.
	Override bool
	// RequestsPerUnit and Unit are the effective limit: the rule's, or the
	// override's.
	RequestsPerUnit uint32
	Unit            Unit
	// UnitMultiplier, Algorithm and Burst complete the effective limit: the
	// rule's, or for an override a fixed window of its unit_multiplier.
	UnitMultiplier uint32
	Algorithm      Algorithm
	Burst          uint32
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
		r = Resolved{Override: true, RequestsPerUnit: o.RequestsPerUnit, Unit: o.Unit, UnitMultiplier: o.UnitMultiplier}
	} else if ls := FindAll(s, domain, entries); len(ls) > 0 {
		r = resolvedLimit(ls, 0)
	} else {
		return r
	}
	if r.Counted() {
		r.WindowStart = r.windowStart(unixTime)
	}
	return r
}

func resolvedLimit(ls []*Limit, i int) Resolved {
	l := ls[i]
	return Resolved{Limit: l, Limits: ls, RequestsPerUnit: l.RequestsPerUnit, Unit: l.Unit,
		UnitMultiplier: l.UnitMultiplier, Algorithm: l.Algorithm, Burst: l.Burst}
}

// Nth is r resolved for its i-th limit (0 <= i < len(r.Limits)), with that
// limit's own window holding unixTime: what a caller that enforces every
// limit of rate_limits counts each one with. Nth(0, t) is r for the same t.
func (r *Resolved) Nth(i int, unixTime int64) Resolved {
	n := resolvedLimit(r.Limits, i)
	if n.Counted() {
		n.WindowStart = n.windowStart(unixTime)
	}
	return n
}

// windowStart is the start of the window holding unixTime; 0 for a token
// bucket, which has no window: its one counter, the theoretical arrival
// time, lives as long as the key is used.
func (r *Resolved) windowStart(unixTime int64) int64 {
	if r.Algorithm == TokenBucket {
		return 0
	}
	return WindowStartOf(r.Unit, r.UnitMultiplier, unixTime)
}

// WindowSeconds is the length of the window the hits fall in:
// UnitMultiplier units.
func (r *Resolved) WindowSeconds() int64 { return WindowSeconds(r.Unit, r.UnitMultiplier) }

// Counted reports whether the descriptor's hits are counted: a limit
// applies, it is not unlimited, and its unit is known.
func (r *Resolved) Counted() bool {
	if r.Limit == nil && !r.Override {
		return false
	}
	return r.Unit != UnitUnknown && (r.Limit == nil || !r.Limit.Unlimited)
}

// WindowEnd is the end (Unix seconds) of the window the hits fall in.
func (r *Resolved) WindowEnd() int64 { return r.WindowStart + r.WindowSeconds() }
