package counter

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Algorithm is how a limit counts.
type Algorithm uint8

const (
	// FixedWindow counts hits per epoch-aligned window (Key). In a Check it
	// is charged only when every limit admits, unlike Add, which always
	// charges (envoyproxy/ratelimit's fixed windows).
	FixedWindow Algorithm = iota
	// SlidingWindow estimates the count over the last Window from the
	// current and the previous fixed windows (see sliding.go).
	SlidingWindow
	// TokenBucket is GCRA: one theoretical arrival time per key (see gcra.go).
	TokenBucket
)

func (a Algorithm) String() string {
	switch a {
	case FixedWindow:
		return "fixed_window"
	case SlidingWindow:
		return "sliding_window"
	case TokenBucket:
		return "token_bucket"
	}
	return fmt.Sprintf("algorithm(%d)", uint8(a))
}

// Limit is one limit of a request: a Check charges every limit of a request,
// or none.
type Limit struct {
	Algorithm Algorithm
	// Key is the counter: for fixed and sliding windows the fixed-window key
	// of the window holding now (the key Add would use); for a token bucket
	// the key of its theoretical arrival time. The store puts its prefix
	// before it. It may point into a buffer the caller reuses once the call
	// returns.
	Key string
	// PrevKey is, for a sliding window, the fixed-window key of the window
	// before Key's.
	PrevKey string
	Hits    uint64
	// Limit is the most hits per Window (fixed, sliding), or the tokens
	// refilled per Window (token bucket: the rate). 0 denies every hit.
	Limit uint64
	// Window is the window's length (fixed, sliding; unit × unit_multiplier)
	// or the period in which a bucket refills Limit tokens.
	Window time.Duration
	// WindowStart is the start (Unix seconds) of Key's window: fixed and
	// sliding windows only. Now must lie within the window.
	WindowStart int64
	// Burst is a token bucket's size; Limit when 0.
	Burst uint64
}

// Verdict is one limit's answer to a Check.
type Verdict struct {
	// Over: this limit denies the request on its own.
	Over bool
	// Count is what the limit is judged on, after this request when it was
	// charged: the window's count (fixed), the estimated count over the
	// sliding window (sliding), the tokens in use, Burst − Remaining
	// (token bucket).
	Count     uint64
	Remaining uint64
	// ResetAfter is duration_until_reset: the end of the window (fixed);
	// the time until the count next falls by one, which is when a request
	// of one hit is next admitted once Remaining is 0 (sliding); the time
	// until the next token (token bucket). 0 when nothing is counted.
	ResetAfter time.Duration
	// RetryAfter is, for a limit that is Over, the time until a request of
	// Hits would be admitted if nothing else were counted meanwhile; 0 when
	// not Over. A request of more hits than Limit (Burst for a bucket) is
	// never admitted: RetryAfter is then the time until the counter is
	// empty.
	RetryAfter time.Duration
}

// A Checker decides requests against limits of any algorithm at a time the
// caller gives (so tests control the clock): every limit of a request is
// charged its Hits only when none is Over, in one round trip where the
// backend allows it.
type Checker interface {
	// Check decides one request: out[i] is limits[i]'s verdict and
	// admitted is whether no limit is Over (and so every limit was charged).
	Check(ctx context.Context, now time.Time, limits []Limit, out []Verdict) (admitted bool, err error)
}

// ErrUnsupported is returned by a store for an operation its backend cannot
// do; it matches errors.Is.
var ErrUnsupported = errors.New("not supported by this store")

// maxAlgoLimit bounds Limit and Burst: the Redis scripts compute in doubles
// and the policy format's limits are 32-bit.
const maxAlgoLimit = 1 << 32

// maxBucketSpan bounds how long a full bucket takes to refill (2^50 µs, 35
// years), so that every time a bucket script holds is exact in a double.
const maxBucketSpan = 1 << 50

// checkLimits rejects calls every store would get wrong.
func checkLimits(now time.Time, limits []Limit, out []Verdict) error {
	if len(out) != len(limits) {
		return fmt.Errorf("counter: %d limits but %d verdicts", len(limits), len(out))
	}
	for _, l := range limits {
		if err := checkLimit(now, l); err != nil {
			return fmt.Errorf("counter %q: %s: %w", l.Key, l.Algorithm, err)
		}
	}
	return nil
}

func checkLimit(now time.Time, l Limit) error {
	switch {
	case l.Window < time.Millisecond:
		return fmt.Errorf("window %v, must be at least 1ms", l.Window)
	case l.Limit > maxAlgoLimit || l.Burst > maxAlgoLimit:
		return fmt.Errorf("limit %d or burst %d over %d", l.Limit, l.Burst, uint64(maxAlgoLimit))
	case l.Hits > maxAlgoLimit:
		return fmt.Errorf("hits %d over %d", l.Hits, uint64(maxAlgoLimit))
	}
	switch l.Algorithm {
	case FixedWindow, SlidingWindow:
		start := time.Unix(l.WindowStart, 0)
		if now.Before(start) || !now.Before(start.Add(l.Window)) {
			return fmt.Errorf("now %v outside the window starting %v", now.UTC(), start.UTC())
		}
		if l.Algorithm == SlidingWindow && l.PrevKey == "" {
			return errors.New("no PrevKey")
		}
	case TokenBucket:
		if l.Limit == 0 {
			return nil // denies everything; no bucket to keep
		}
		if _, err := newBucket(l); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown algorithm %d", l.Algorithm)
	}
	return nil
}

// windowEnd is when l's fixed window ends, as a duration from now.
func windowLeft(now time.Time, l Limit) time.Duration {
	return time.Unix(l.WindowStart, 0).Add(l.Window).Sub(now)
}

// fixedVerdict is a fixed window's verdict from its count before the
// request; charged says whether the request's hits were added.
func fixedVerdict(now time.Time, l Limit, before uint64, charged bool) Verdict {
	v := Verdict{Over: before+l.Hits > l.Limit, Count: before, ResetAfter: windowLeft(now, l)}
	if charged {
		v.Count += l.Hits
	}
	v.Remaining = l.Limit - min(l.Limit, v.Count)
	if v.Over {
		v.RetryAfter = v.ResetAfter
	}
	return v
}
