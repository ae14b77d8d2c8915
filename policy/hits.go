package policy

import "math"

// MaxHits is the most hits one descriptor of one request counts; the RLS
// and the engine both cap hits with ClampHits before adding them anywhere.
//
// A limit is a uint32, so a descriptor with MaxHits hits is already over
// every limit but the largest (which it exactly reaches, as it would have
// uncapped on a fresh key): capping changes no answer. It is a cap and not a
// refusal because the caller did ask for at least that much; refusing would
// count nothing and answer OK. And it keeps sums far from wrapping: a
// window's counter needs 2^31 requests at MaxHits to pass Redis's signed
// 64-bit INCRBY, 2^32 to wrap an unsigned one, where one request of 2^63
// (Redis) or 2^64-N (anything unsigned) did it before.
const MaxHits = math.MaxUint32

// ClampHits caps hits at MaxHits and reports whether it had to.
func ClampHits(hits uint64) (uint64, bool) {
	if hits > MaxHits {
		return MaxHits, true
	}
	return hits, false
}

// AddHits adds two counts, saturating at the largest uint64: a count never
// goes backwards, however many hits are added to it.
func AddHits(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint64
}
