package decisions

import (
	"errors"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
)

// GlobalOptions connect an engine to the global tier: a Redis of its own
// that every datacenter's engines lease global keys' tokens from, with the
// same grant script engines lease to replicas with.
type GlobalOptions struct {
	// Datacenter names this engine's datacenter in the global tier;
	// required.
	Datacenter string
	// Store is the global tier's Redis; required.
	Store *counter.Redis
	// Name names the global tier in health and logs (a URL without its
	// password); may be empty.
	Name string
	// Interval is how often the engine tops up its datacenter's holdings,
	// hands back idle ones and reports what it spent: every message to the
	// global tier is one batch of one round; 50ms when zero. A grant that
	// comes up short asks at once.
	Interval time.Duration
	// Horizon is how much of its datacenter's recent rate a holding is
	// topped up to (it asks again when half is left): long enough to
	// outlast a WAN round trip; 500ms when zero.
	Horizon time.Duration
	// Ahead is how long before a busy key's window ends its next window's
	// tokens are fetched (at most half a window); 1s when zero.
	Ahead time.Duration
	// IdleAfter is how long a key goes unasked before the datacenter hands
	// back what it holds and has not granted; 2s when zero.
	IdleAfter time.Duration
	// MaxKeys bounds the global keys the engine follows; further ones are
	// dropped (their asks get only what the datacenter already holds) and
	// counted (global.keys_dropped). 100 000 when zero.
	MaxKeys int
	// Timeout bounds one round trip to the global tier; 1s when zero.
	Timeout time.Duration
	// ColdRatio is ε of the datacenter's cold credit: before the global
	// tier's first answer for a key's window a datacenter grants up to
	// ⌊ε·L / datacenters⌋, charged with its next round, so that a key's
	// first requests do not wait on the WAN. 0.005 when zero; negative: none.
	ColdRatio float64
}

func (o GlobalOptions) withDefaults() GlobalOptions {
	if o.Interval <= 0 {
		o.Interval = 50 * time.Millisecond
	}
	if o.Horizon <= 0 {
		o.Horizon = 500 * time.Millisecond
	}
	if o.Ahead <= 0 {
		o.Ahead = time.Second
	}
	if o.IdleAfter <= 0 {
		o.IdleAfter = 2 * time.Second
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = 100_000
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.ColdRatio == 0 {
		o.ColdRatio = 0.005
	}
	return o
}

func (o GlobalOptions) validate() error {
	switch {
	case o.Datacenter == "":
		return errors.New("engine: a global tier needs the datacenter's name (--datacenter)")
	case o.Store == nil:
		return errors.New("engine: a global tier needs its Redis (--global-redis)")
	}
	return nil
}
