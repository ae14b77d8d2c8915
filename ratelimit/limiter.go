package ratelimit

import (
	"context"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	"github.com/floodgate/floodgate/policy"
)

// Item is one request descriptor that matched a limit, as handed to a Limiter.
type Item struct {
	Domain  string
	Entries []*ratelimitv3.RateLimitDescriptor_Entry
	Limit   *policy.Limit

	// RequestsPerUnit and Unit are the effective limit: the rule's, or the
	// descriptor's own `limit` override.
	RequestsPerUnit uint32
	Unit            policy.Unit
	// UnitMultiplier makes the window that many units long (0 and 1: one).
	UnitMultiplier uint32
	// Override reports that RequestsPerUnit and Unit come from the
	// descriptor's own `limit`; the async limiter passes them on to the
	// engine, which otherwise applies its own policy.
	Override bool

	// Key identifies the counter: prefix, domain, entries and window start,
	// in the form of envoyproxy/ratelimit ("domain_k_v_k2_v2_1700000000").
	// It points into a buffer the service reuses after Limit returns: a
	// Limiter that keeps it copies it (strings.Clone).
	Key         string
	WindowStart int64 // Unix seconds
	Hits        uint64
	// Quota reports a descriptor in quota mode (its rule's quota_mode, or
	// the service's QuotaMode): over its limit it does not deny the
	// request, so a Limiter that spares a denied request's other items
	// must charge them when only quota items are over.
	Quota bool

	// Algorithm is how the limit counts (an override is a fixed window);
	// Burst is a token bucket's size.
	Algorithm policy.Algorithm
	Burst     uint32
	// PrevKey is a sliding window's counter of the window before; it
	// points into the same reused buffer as Key.
	PrevKey string
	// Now is the request's time by the service's clock: limiters that
	// decide by time (sliding windows, token buckets) read it.
	Now time.Time
	// Group is the index of the request descriptor the item counts for.
	// A descriptor with several limits (rate_limits) has one item per
	// limit, adjacent, with one Group: a Limiter admits them all or none,
	// and charges none when one denies.
	Group int
	// Several reports that the item is one of several limits of its
	// descriptor.
	Several bool

	// Count is set by the Limiter: the window's count including Hits.
	Count uint64
	// Decided is set by a Limiter that judged the item itself (every
	// algorithm but the fixed window, and every limit of a descriptor with
	// several): then Over, Remaining and ResetAfter are its verdict, and
	// Count what it counted (a sliding window's estimate, a bucket's
	// tokens in use).
	Decided    bool
	Over       bool
	Remaining  uint64
	ResetAfter time.Duration
}

// DecidesItself reports whether a Limiter must judge the item with
// counter.Checker rather than compare a fixed window's count.
func (it *Item) DecidesItself() bool {
	return it.Algorithm != policy.FixedWindow || it.Several
}

// WindowSeconds is the length of the item's window: every limiter sizes
// windows and expiries by it, never by Unit alone.
func (it *Item) WindowSeconds() int64 { return policy.WindowSeconds(it.Unit, it.UnitMultiplier) }

// A Limiter counts the hits of matched descriptors. The exact limiter counts
// synchronously in a shared store; the async limiter answers from the local
// decision cache and reports hits to the throttle engine.
type Limiter interface {
	Limit(ctx context.Context, items []*Item) error
}

type ratelimitEntry = ratelimitv3.RateLimitDescriptor_Entry

// A SharedLimiter answers every caller of a key from one shared decision
// (the async limiter does): the counters of its overrides are keyed by the
// override, so that an override concerns only the requests carrying it.
type SharedLimiter interface {
	Limiter
	SharesDecisions() bool
}

// keyFormat is how the service names counters: as the engines do when its
// limiter shares their decisions.
func keyFormat(o Options) policy.KeyFormat {
	sl, ok := o.Limiter.(SharedLimiter)
	return policy.KeyFormat{Prefix: o.KeyPrefix, Encoding: o.KeyEncoding,
		SeparateOverrides: ok && sl.SharesDecisions()}
}
