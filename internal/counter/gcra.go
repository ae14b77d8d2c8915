package counter

import (
	"fmt"
	"math/bits"
	"time"
)

// A token bucket is GCRA: a key holds one theoretical arrival time (TAT),
// the time at which the bucket will be full again; a missing key, or a TAT
// in the past, is a full bucket. A request of n hits moves the TAT n
// emission intervals (Window/Limit) on from max(TAT, now) and is admitted
// when the TAT then lies at most Burst intervals after now. So the bucket
// admits Burst hits at once, then Limit per Window.
//
// An interval is rarely a whole number of microseconds (3 a second is
// 333333⅓ µs), and rounding it would make Burst hits at once cost more than
// the bucket holds. So a TAT is kept exactly, as whole microseconds plus a
// remainder in 1/Limit µs: the Redis value "us:r". Every amount here is
// exact in a double (maxBucketSpan, maxAlgoLimit), so the Lua scripts and
// this file agree to the bit.

// bucket is a token bucket's parameters in microseconds.
type bucket struct {
	rate   uint64 // tokens per period (Limit); 1 for a deny-all bucket
	period uint64 // µs
	burst  uint64
	a, b   uint64 // period = a×rate + b
}

// newBucket reads l's bucket; Limit 0 is a bucket that holds nothing.
func newBucket(l Limit) (bucket, error) {
	bk := bucket{rate: l.Limit, period: uint64(l.Window.Microseconds()), burst: l.Burst}
	if bk.burst == 0 {
		bk.burst = l.Limit
	}
	if l.Limit == 0 {
		bk.rate, bk.burst = 1, 0
	}
	bk.a, bk.b = bk.period/bk.rate, bk.period%bk.rate
	if us, _ := bk.cost(bk.burst); us > maxBucketSpan {
		return bucket{}, fmt.Errorf("burst %d at %d per %v takes over 2^50µs to refill", bk.burst, l.Limit, l.Window)
	}
	return bk, nil
}

// cost is the time n tokens take to refill, as whole µs and a remainder in
// 1/rate µs. n must be at most burst, or small enough not to overflow.
func (bk bucket) cost(n uint64) (us, r uint64) {
	hi, lo := bits.Mul64(n, bk.b)
	q, r := bits.Div64(hi, lo, bk.rate)
	return n*bk.a + q, r
}

// u128 holds debts: the time from now to a TAT in 1/rate µs, which can
// pass 64 bits (2^50 µs × a rate of 2^32).
type u128 struct{ hi, lo uint64 }

func mul128(a, b uint64) u128 { hi, lo := bits.Mul64(a, b); return u128{hi, lo} }

func (x u128) add(y u128) u128 {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	return u128{x.hi + y.hi + c, lo}
}

// sub is x − y, 0 when y > x.
func (x u128) sub(y u128) u128 {
	if x.less(y) {
		return u128{}
	}
	lo, b := bits.Sub64(x.lo, y.lo, 0)
	return u128{x.hi - y.hi - b, lo}
}

func (x u128) less(y u128) bool { return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo) }

func (x u128) isZero() bool { return x.hi == 0 && x.lo == 0 }

// divCeil is ceil(x/d), saturating.
func (x u128) divCeil(d uint64) uint64 {
	if x.hi >= d {
		return ^uint64(0)
	}
	q, r := bits.Div64(x.hi, x.lo, d)
	if r != 0 {
		q++
	}
	return q
}

// tat is a theoretical arrival time: us (Unix µs) + r/rate µs.
type tat struct {
	us int64
	r  uint64
}

// debt is t − now in 1/rate µs, 0 when t has passed.
func (bk bucket) debt(t tat, nowUs int64) u128 {
	if t.us < nowUs {
		return u128{}
	}
	return mul128(uint64(t.us-nowUs), bk.rate).add(u128{0, min(t.r, bk.rate-1)})
}

// at is the TAT debt d after now.
func (bk bucket) at(d u128, nowUs int64) tat {
	q, r := bits.Div64(d.hi, d.lo, bk.rate) // d ≤ 2^50 × rate: no overflow
	return tat{nowUs + int64(q), r}
}

// span is the debt of a full bucket's worth of tokens.
func (bk bucket) span(n uint64) u128 { return mul128(n, bk.period) }

// inUse is the tokens debt d stands for: ceil(d / period).
func (bk bucket) inUse(d u128) uint64 { return d.divCeil(bk.period) }

// micros turns a debt into a duration, rounded up to a microsecond.
func (bk bucket) micros(d u128) time.Duration {
	return time.Duration(d.divCeil(bk.rate)) * time.Microsecond
}

// over says whether a request of hits on debt d is denied.
func (bk bucket) over(d u128, hits uint64) bool {
	return hits > bk.burst || bk.span(bk.burst).less(d.add(bk.span(hits)))
}

// verdict is a bucket's verdict from the debt before the request; charged
// says whether the request's hits were added.
func (bk bucket) verdict(d0 u128, hits uint64, charged bool) Verdict {
	v := Verdict{Over: bk.over(d0, hits)}
	d := d0
	if charged {
		d = d.add(bk.span(hits))
	}
	v.Count = bk.inUse(d)
	v.Remaining = bk.burst - min(bk.burst, v.Count)
	if v.Count > 0 {
		v.ResetAfter = bk.micros(d.sub(bk.span(v.Count - 1)))
	}
	if v.Over {
		if hits > bk.burst {
			v.RetryAfter = bk.micros(d0)
		} else {
			v.RetryAfter = bk.micros(d0.add(bk.span(hits)).sub(bk.span(bk.burst)))
		}
	}
	return v
}

// costArgs is what the check script adds to a TAT for hits, and the most
// debt it admits: a request the bucket can never admit gets a cost past
// the span, so it is Over whatever the TAT.
func (bk bucket) costArgs(hits uint64) (q, r, sq, sr uint64) {
	sq, sr = bk.cost(bk.burst)
	if hits > bk.burst {
		return sq + 1, 0, sq, sr
	}
	q, r = bk.cost(hits)
	return q, r, sq, sr
}

// grant applies a bucket grant to debt d, as the Redis script does: the
// charge first, whatever the burst (capped at one burst); then the return,
// never below a full bucket; then tokens up to ceil(available / Divisor)
// and Want. used is the tokens in use after it.
func (bk bucket) grant(d u128, g BucketGrant) (after u128, tokens, used uint64) {
	d = d.add(bk.span(min(g.Charge, bk.burst)))
	d = d.sub(bk.span(min(g.Return, maxAlgoLimit)))
	used = bk.inUse(d)
	avail := bk.burst - min(bk.burst, used)
	div := max(g.Divisor, 1)
	tokens = min(g.Want, avail/div+min(avail%div, 1))
	return d.add(bk.span(tokens)), tokens, used + tokens
}
