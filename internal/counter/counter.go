// Package counter holds the hit counters shared by every process that
// counts, the RLS in exact mode and the throttle engine: fixed windows
// (Store), sliding windows, token buckets and several limits charged all
// or none (Checker), and lease grants for each (Granter, AlgoGranter).
package counter

import (
	"context"
	"time"
)

// Increment adds Hits to the counter Key, which lives until Expiry.
// Hits may be 0: the call then reads the current count.
type Increment struct {
	Key    string
	Hits   uint64
	Expiry time.Duration
}

// Store adds hits to counters and returns each counter's value after the add,
// in the order of the increments. One call is one round trip to the backend.
// An Increment's Key may point into a buffer the caller reuses once Add
// returns: a store that keeps a key copies it.
type Store interface {
	Add(ctx context.Context, incs []Increment, counts []uint64) error
	Close() error
}

// A Pinger reports whether its backend answers; the shared stores are
// Pingers, the in-process one needs none.
type Pinger interface {
	Ping(ctx context.Context) error
}
