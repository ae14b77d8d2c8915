package counter

import (
	"context"
	"time"
)

// Grant asks a store for tokens of one key's window: the store debits them
// from the window's granted count, which it never raises past Limit for a
// grant (charges may pass it).
type Grant struct {
	// Key names the window's granted count, the window included; the store
	// puts its prefix before it. It may point into a buffer the caller
	// reuses once Grant returns.
	Key         string
	Limit       uint64
	WindowStart int64         // Unix seconds
	Window      time.Duration // the window's length
	// Want is the most tokens to grant.
	Want uint64
	// Charge is tokens a replica admitted beyond those it held (its
	// overdraft): added to the granted count whatever the limit.
	Charge uint64
	// Return is unspent tokens given back: taken off the granted count.
	Return uint64
	// Floor is the granted count a replica last saw for the window: a
	// store that has no count for the window (lost in a restart without
	// persistence) starts it from there, so the window does not start
	// over. A count the store holds is never raised: tokens returned since
	// would be taken again.
	Floor uint64
	// Divisor caps the grant at ceil(remaining / Divisor), so that grants
	// shrink as a window runs out; 1 when 0.
	Divisor uint64
	// Ahead is how long before WindowStart, by the store's clock, the
	// window's tokens may already be granted.
	Ahead time.Duration
	// CapKey names a datacenter's holding of a global key (Holdings), the
	// store's prefix put before it: the grant's limit is then at most what
	// the datacenter holds. Only a Redis store reads it; Key and CapKey
	// must then be on one node (no Redis Cluster).
	CapKey string
	// CapCredit is what a holding that does not exist yet (the window's
	// first grants, before the global tier answered) lets the datacenter
	// grant: charged to the global tier with its next round.
	CapCredit uint64
	// Datacenter, when set, shares the window's tokens between the
	// datacenters that ask for them by their demand (fair_grant.go): Asker
	// is the engine asking on its behalf, Demand the tokens a second its
	// replicas wanted of the key lately (admitted or not), DemandKey the
	// record of every datacenter's demand for the key (one for all its
	// windows), DemandFresh how long a report counts at least, and
	// Datacenters how many datacenters share the key, this one included.
	Datacenter  string
	Asker       string
	Demand      uint64
	DemandKey   string
	DemandFresh time.Duration
	Datacenters uint64
}

// GrantStatus says why a grant holds the tokens it does.
type GrantStatus uint8

const (
	// GrantOK: the window is in force (or starts within Ahead); Tokens may
	// be 0 when nothing remains.
	GrantOK GrantStatus = iota
	// GrantStale: the window has ended by the store's clock; nothing was
	// granted, charged or returned.
	GrantStale
	// GrantEarly: the window starts later than Ahead from now by the
	// store's clock; nothing was granted, charged or returned.
	GrantEarly
)

// Granted is the answer to one Grant.
type Granted struct {
	Status GrantStatus
	Tokens uint64 // granted by this call
	// Total is the window's granted count after this call: charges
	// included, returns taken off.
	Total uint64
	// Used is what the limit is judged on after this call, set by an
	// AlgoGranter (see there); Grant leaves it 0: a fixed window is judged
	// on Total.
	Used uint64
	// Others is, for a grant capped by a holding (CapKey), what the other
	// datacenters had taken of the global limit at the datacenter's last
	// contact with the global tier: the limit is judged on Total + Others.
	Others uint64
	// Capped reports a grant capped by a holding; Cap is what the holding
	// let the datacenter grant (held + extra).
	Capped bool
	Cap    uint64
}

// A Granter grants tokens atomically per key: concurrent grants from any
// number of engines never raise a window's granted count past its limit.
// One call is one round trip to the backend. A key's failure is reported
// as KeyErrors, as Store.Add does.
type Granter interface {
	Grant(ctx context.Context, gs []Grant, out []Granted) error
}
