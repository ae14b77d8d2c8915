package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// MaxPlainKey is the longest counter key kept as built. A longer one (a
// descriptor value can be as long as an HTTP header) is stored by its
// digest, so that the memory of every cache and counter follows the number
// of keys, not the size of the values an attacker sends. Keys up to this
// length are exactly those of envoyproxy/ratelimit.
const MaxPlainKey = 512

// keyReadable is how much of a digested key's start stays readable.
const keyReadable = 64

// AppendKey appends the counter key of a resolved descriptor: prefix,
// domain, entries (the matched rule's shared wildcard where it has one),
// the override when f keys overrides apart, and the window start. The RLS
// and the throttle engine both build keys here, so that a decision names
// the counter it is about. AppendKey does not allocate once b has room.
func AppendKey[E Entry](b []byte, f KeyFormat, domain string, entries []E, r *Resolved) []byte {
	start := len(b)
	b = append(b, f.Prefix...)
	body := len(b)
	if f.Encoding == KeyUnambiguous {
		b = appendUnambiguous(b, domain, entries, r.Limit)
	} else {
		b = appendCompat(b, domain, entries, r.Limit)
	}
	if r.Override && f.overridesApart() {
		// '%' cannot start a part of the unambiguous encoding (a length).
		b = append(b, '%')
		b = strconv.AppendUint(b, uint64(r.RequestsPerUnit), 10)
		b = append(b, '/')
		b = append(b, r.Unit.String()...)
		b = append(b, '_')
	}
	switch {
	case r.Limit != nil:
		b = appendTag(b, f.Encoding, r.Limit.keyTag)
	case r.Override && r.UnitMultiplier > 1:
		// Windows of N units never share the counter of one-unit ones.
		b = appendMultiplierTag(b, f.Encoding, r.UnitMultiplier)
	}
	return appendWindow(b, start, body, r.WindowStart)
}

// limitKeyTag is what sets a limit's counter apart from another limit of the
// same descriptor whose window may start at the same second: "x<N>" for
// windows of N > 1 units (a 10-minute window starting at 12:00 must not
// share the counter of the 1-minute one), "token_bucket" (its counter holds
// a time, not a count), "n=<name>" for an entry of rate_limits (each has its
// own counter; by name, so reordering the list keeps the counts). A fixed
// or sliding window of one unit outside rate_limits has none, so its key is
// envoyproxy/ratelimit's; a sliding window counts in the fixed window's
// counters, so switching between the two keeps the counts.
func limitKeyTag(l *Limit) string {
	var parts []string
	if l.Algorithm == TokenBucket {
		parts = append(parts, "token_bucket")
	}
	if l.UnitMultiplier > 1 {
		parts = append(parts, "x"+strconv.FormatUint(uint64(l.UnitMultiplier), 10))
	}
	if l.listName != "" {
		parts = append(parts, "n="+l.listName) // last: a name may hold ','
	}
	return strings.Join(parts, ",")
}

// appendTag writes a non-empty tag before the window: "@tag_", or in the
// unambiguous encoding "@<len>:tag_". '@' cannot start a part of the
// unambiguous encoding (a length), nor does it follow one in compat keys
// unless a value holds it, which compat keys accept as their ambiguity.
func appendTag(b []byte, enc KeyEncoding, tag string) []byte {
	if tag == "" {
		return b
	}
	b = append(b, '@')
	if enc == KeyUnambiguous {
		b = strconv.AppendInt(b, int64(len(tag)), 10)
		b = append(b, ':')
	}
	b = append(b, tag...)
	return append(b, '_')
}

// AppendCacheKey appends the counter key of a matched limit in the form of
// envoyproxy/ratelimit: prefix + "domain_k1_v1_k2_v2_" + window start. A
// level with share_threshold contributes its configured wildcard, so that
// every value it matches shares one counter. It is AppendKey with the
// compat encoding for a rule (l) or a descriptor counted under its own
// values (nil).
func AppendCacheKey[E Entry](b []byte, prefix, domain string, entries []E, l *Limit, windowStart int64) []byte {
	return AppendKey(b, KeyFormat{Prefix: prefix}, domain, entries, &Resolved{Limit: l, WindowStart: windowStart})
}

func appendCompat[E Entry](b []byte, domain string, entries []E, l *Limit) []byte {
	b = append(b, domain...)
	b = append(b, '_')
	for i, e := range entries {
		b = append(b, e.GetKey()...)
		b = append(b, '_')
		b = append(b, entryValue(e, i, l)...)
		b = append(b, '_')
	}
	return b
}

func appendUnambiguous[E Entry](b []byte, domain string, entries []E, l *Limit) []byte {
	b = appendPart(b, domain)
	for i, e := range entries {
		b = appendPart(b, e.GetKey())
		b = appendPart(b, entryValue(e, i, l))
	}
	return b
}

// appendPart writes "<len>:<s>_": the length makes the part end where it
// says, whatever s holds; the '_' only keeps the key readable.
func appendPart(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, '_')
}

func entryValue[E Entry](e E, i int, l *Limit) string {
	if l != nil && i < len(l.SharedValue) && l.SharedValue[i] != "" {
		return l.SharedValue[i]
	}
	return e.GetValue()
}

// appendWindow ends the key b[start:] with the window start, replacing the
// part after the prefix (b[body:]) by a digest when the key would be longer
// than MaxPlainKey: prefix + "#" + its first keyReadable bytes + "~" + 128
// bits of SHA-256 of the whole key but the window, in hex, + "_" + window.
// Two different long keys share a counter only if SHA-256 collides in 128
// bits. A plain unambiguous key never starts with '#' (it starts with a
// length), so it never equals a digested one.
func appendWindow(b []byte, start, body int, windowStart int64) []byte {
	end := len(b)
	b = strconv.AppendInt(b, windowStart, 10)
	if len(b)-start <= MaxPlainKey {
		return b
	}
	sum := sha256.Sum256(b[start:end])
	readable := min(keyReadable, end-body)
	// The digested key is shorter than the plain one: it fits in b.
	b = b[:body+1+readable]
	copy(b[body+1:], b[body:body+readable])
	b[body] = '#'
	b = append(b, '~')
	b = hex.AppendEncode(b, sum[:16])
	b = append(b, '_')
	return strconv.AppendInt(b, windowStart, 10)
}

// appendMultiplierTag is appendTag(b, enc, "x<n>") without building the
// tag: an override's n comes with the request.
func appendMultiplierTag(b []byte, enc KeyEncoding, n uint32) []byte {
	var digits [10]byte
	d := strconv.AppendUint(digits[:0], uint64(n), 10)
	b = append(b, '@')
	if enc == KeyUnambiguous {
		b = strconv.AppendInt(b, int64(len(d)+1), 10)
		b = append(b, ':')
	}
	b = append(b, 'x')
	b = append(b, d...)
	return append(b, '_')
}
