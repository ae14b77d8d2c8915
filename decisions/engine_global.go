package decisions

import (
	"context"
	"errors"
	"sort"

	"github.com/floodgate/floodgate/internal/globallink"

	"github.com/floodgate/floodgate/internal/counter"
)

// startGlobal connects the engine to the global tier when o.Global is set:
// its counter store must keep holdings (Redis), which the datacenter's
// engines share.
func (e *Engine) startGlobal(ctx context.Context) error {
	if e.o.Global == nil {
		return nil
	}
	o := e.o.Global.withDefaults()
	if err := o.validate(); err != nil {
		return err
	}
	h, ok := e.o.Counter.(counter.Holdings)
	if !ok {
		return errors.New("engine: a global tier needs the datacenter's counters in Redis (--redis or --counter-redis)")
	}
	e.global = newGlobalTier(e, o, h, e.o.Stats)
	e.global.st.linkUp.Set(1)
	// Counted in before the first grant: the others size their shares and
	// credits by the datacenters they count (a global tier that does not
	// answer yet only leaves the count for the first round).
	if now := e.now(); e.global.countDue(now) {
		e.global.countDatacenters(ctx, now)
	}
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	if err := o.Store.WarmGrants(wctx); err != nil {
		e.warn("global tier", "datacenter", o.Datacenter, "err", err) // the first rounds pay for it
	}
	cancel()
	go e.global.run(ctx)
	return nil
}

// GlobalStatus is a datacenter's link to the global tier as one engine
// sees it, and the global leases it follows.
type GlobalStatus struct {
	// Global names the global tier.
	Global string `json:"global"`
	globallink.Link
}

// GlobalLease is the datacenter's holding of one global key's window at
// this engine's last round: what the global tier granted it (Held), its
// fallback share while cut off (Extra), what it granted its replicas
// (Used), and what the other datacenters had taken at the last contact
// (Others). The fleet's view reports it as it is.
type GlobalLease = globallink.Lease

// maxStatusLeases bounds the leases GlobalStatus lists: the busiest first.
const maxStatusLeases = 100

// Global returns the engine's view of the global tier; ok is false when it
// has none.
func (e *Engine) Global() (s GlobalStatus, ok bool) {
	t := e.global
	if t == nil {
		return s, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s = GlobalStatus{Global: t.o.Name, Link: globallink.Link{Datacenter: t.o.Datacenter, Up: t.link.up, Since: t.link.since,
		LastContact: t.link.lastContact, Datacenters: max(1, t.dcs), Keys: len(t.keys), Leases: []GlobalLease{}}}
	if t.link.err != nil {
		s.Error = t.link.err.Error()
	}
	for _, k := range t.keys {
		st := k.state
		s.Leases = append(s.Leases, GlobalLease{Key: k.key, Limit: k.limit, Held: st.Held, Extra: st.Extra,
			Used: st.Used, Others: st.Others, Fallback: st.Fallback, Rate: k.rate})
	}
	sort.Slice(s.Leases, func(i, j int) bool {
		if s.Leases[i].Rate != s.Leases[j].Rate {
			return s.Leases[i].Rate > s.Leases[j].Rate
		}
		return s.Leases[i].Key < s.Leases[j].Key
	})
	s.Leases = s.Leases[:min(len(s.Leases), maxStatusLeases)]
	return s, true
}
