package counter

import "context"

// HoldingOp is what a Hold call does to a datacenter's holding.
type HoldingOp uint8

const (
	// HoldRead changes nothing.
	HoldRead HoldingOp = iota
	// HoldSettle records a global grant: Tokens and Charged are added to
	// held (Charged moves out of extra: the fallback tokens the datacenter
	// spent, now charged to the global tier), others becomes GlobalTotal −
	// held, and ClearExtra ends a fallback.
	HoldSettle
	// HoldFallback adds Share to extra, once per holding until a settle
	// with ClearExtra: the datacenter cannot reach the global tier.
	HoldFallback
	// HoldHandBack takes what the datacenter holds but has not granted
	// (held − its local count, none while it falls back) off held and
	// reports it as Returned, for the global tier to take back.
	HoldHandBack
	// HoldClaim moves what the datacenter granted beyond held (overdrafts,
	// a spent fallback) into held, out of extra first, and reports it as
	// Returned (FromExtra of it from extra): the one engine that claims it
	// charges it to the global tier, so that no charge is sent twice.
	HoldClaim
	// HoldUnclaim undoes a claim the global tier did not take: Charged off
	// held, Share back to extra.
	HoldUnclaim
)

// Holding is one call on a datacenter's holding of a global key's window:
// what it has been granted by the global tier (held), what it may grant on
// its own while cut off from it (extra), and what the other datacenters
// had taken at its last contact (others). Grants capped by it (Grant.CapKey)
// never raise the datacenter's local count, Count, past held + extra.
type Holding struct {
	Key      string // the holding, the store's prefix put before it
	CountKey string // the datacenter's granted count of the window
	// WindowEnd (Unix seconds) is when the window ends: the holding is
	// kept a grace period past it, as the count is.
	WindowEnd   int64
	Op          HoldingOp
	Tokens      uint64
	Charged     uint64
	GlobalTotal uint64
	ClearExtra  bool
	Share       uint64
}

// HoldingState is a holding after a Hold call.
type HoldingState struct {
	Held, Extra, Others uint64
	// Used is the datacenter's local granted count (its replicas' leases
	// and charges).
	Used uint64
	// Fallback reports that extra was given for a cut-off link and not
	// yet settled.
	Fallback bool
	// Returned is what HoldHandBack took off held, or what HoldClaim
	// claimed; FromExtra is the claim's part that was extra.
	Returned, FromExtra uint64
}

// Holdings keep datacenters' holdings of global keys in the datacenter's
// store, shared by its engines: one engine's global grant is every
// engine's, and none is counted twice. One call is one round trip; a
// key's failure is reported as KeyErrors.
type Holdings interface {
	Hold(ctx context.Context, hs []Holding, out []HoldingState) error
}
