package counter

import (
	"math"
	"strings"
	"sync"
	"time"
)

// Fair shares of a global limit between datacenters.
//
// Without them, a datacenter close to the global tier asks more often and
// takes ceil(remaining / Divisor) each time: under overload the shares
// follow who asks first and how often. A Grant with Datacenter set also
// reports its datacenter's demand (tokens a second its replicas wanted,
// admitted or not) into a record of the key's recent demand, one entry per
// asking engine, and the store keeps, per window, what it granted each
// datacenter (got: tokens and charges, less returns). While another
// datacenter has fresh demand, a grant is also capped by what the
// datacenter is owed of the window by demand:
//
//	pie    = total + remaining               (the window's tokens, granted or not)
//	share  = ceil(pie × mine / all)          (mine, all: fresh demand, doubles)
//	owed   = share − got
//	tokens = min(want, ceil(remaining / Divisor), owed)
//
// So a datacenter never takes more than its demand's share of the window:
// the one that asks more often stops at its share, and what it leaves
// waits for the others, however slowly they ask. Fairness only ever
// lowers a grant (to 0 at most, until the others caught up): the limit
// holds as it does without it. A datacenter that wants less than its
// share asks for less (want), its demand, hence its share, is smaller,
// and the rest goes to the others. Alone (no other datacenter's demand is
// fresh), or with no demand of its own to report yet (0: unknown), a
// grant is as without fairness: min(want, ceil(remaining / Divisor)).
//
// While the record is new (younger than 2 × DemandFresh, counted from its
// first report, or its first after as long without any), the demands
// are the first few asks' and say little: a grant is capped at an
// equal share of the window, ceil(pie / Datacenters), whatever they say.
// The first grants of a key go out by equal shares, not to the datacenter
// that asked first.
//
// A report is fresh for max(DemandFresh, 2 × the longest gap between two
// reports of one engine in the record, a maximum that fades by a quarter
// a report): about two rounds of the slowest datacenter. Entries older
// than demandTTL are dropped, and the record expires demandTTL after its
// last write.

const (
	// demandGapCap bounds the gap between two reports kept in an entry, so
	// that an engine quiet for long does not keep every report fresh.
	demandGapCap = time.Second
	// demandTTL is how long a demand record, and an entry in it, outlives
	// its last report.
	demandTTL = 10 * time.Second
	// maxDemand bounds a demand (tokens a second), so that sums of demands
	// stay exact in the Redis script's doubles.
	maxDemand = 1 << 32
)

// demandEntry is one engine's last report in a demand record: its
// datacenter's demand through it, when (Unix ms), and the gap (ms) since
// its report before.
type demandEntry struct {
	rate    uint64
	at, gap int64
}

// fairOn says whether g shares its window by demand.
func fairOn(g Grant) bool { return g.Datacenter != "" && g.DemandKey != "" }

// demandField names g's engine in the demand record: its datacenter
// first, so the record's entries can be summed by datacenter.
func demandField(g Grant) string { return g.Datacenter + "\n" + g.Asker }

// gotKey names the per-window record of what each datacenter was granted.
func gotKey(key string) string { return key + "|got" }

// fairTokens is the grant's tokens under the rule above, at nowMs, with
// the record's entries (g's own report updated in it) and birth (Unix ms),
// g's datacenter's got (its charge and return applied), and the window's
// total (likewise) and remaining. Demands are doubles, as in the script.
func fairTokens(g Grant, entries map[string]demandEntry, born int64, got, total, remaining uint64, nowMs int64) uint64 {
	var maxGap int64
	for _, e := range entries {
		maxGap = max(maxGap, e.gap)
	}
	fresh := max(grantMillis(g.DemandFresh), 2*maxGap)
	var all, mine float64
	known := make(map[string]bool)
	prefix := g.Datacenter + "\n"
	for f, e := range entries {
		if e.rate == 0 || nowMs-e.at > fresh {
			continue
		}
		all += float64(e.rate)
		known[f[:strings.IndexByte(f, '\n')]] = true
		if strings.HasPrefix(f, prefix) {
			mine += float64(e.rate)
		}
	}
	if dcs := float64(min(g.Datacenters, maxDemand)); nowMs-born < 2*grantMillis(g.DemandFresh) && dcs > 1 {
		// A new record: the first readings of demand are of the first
		// few asks; equal shares until they settle.
		mine, all = 1, max(dcs, float64(len(known)))
	}
	div := max(clampGrant(g.Divisor), 1)
	capped := remaining/div + min(remaining%div, 1)
	want := clampGrant(g.Want)
	if mine == 0 || all <= mine {
		return min(want, capped)
	}
	share := uint64(math.Ceil(float64(total+remaining) * mine / all))
	owed := share - min(share, got)
	return min(want, capped, owed)
}

// nextDemand is the entry of g's engine after its report at nowMs, given
// its entry before (ok when there was one).
func nextDemand(g Grant, before demandEntry, ok bool, nowMs int64) demandEntry {
	e := demandEntry{rate: min(g.Demand, maxDemand), at: nowMs}
	if ok {
		// A slowly fading maximum: an engine that reports several windows
		// of a key each round keeps its round's length, not the moment
		// between two reports of one round.
		e.gap = before.gap - before.gap/4
		if nowMs >= before.at {
			e.gap = min(max(nowMs-before.at, e.gap), demandGapCap.Milliseconds())
		}
	}
	return e
}

// memoryFair holds a Memory store's demand records and got records.
type memoryFair struct {
	mu     sync.Mutex
	demand map[string]*demandRecord
	got    map[string]*gotRecord
}

type demandRecord struct {
	entries map[string]demandEntry
	born    int64         // Unix ms of its first report after 2 × DemandFresh without one
	expires time.Duration // on the store's monotonic clock
}

type gotRecord struct {
	byDC    map[string]uint64
	expires time.Duration
}

// fairGrant is applyGrant's tokens for a grant shared by demand: it
// reports g's demand, takes the window's tokens by the rule, and records
// the datacenter's got, which lives until gotExpires. total and remaining
// are the window's after g's charge and return. Caller holds the count's
// shard lock.
func (m *Memory) fairGrant(g Grant, total, remaining uint64, nowMs int64, mono, gotExpires time.Duration) uint64 {
	f := &m.fair
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.demand == nil {
		f.demand, f.got = make(map[string]*demandRecord), make(map[string]*gotRecord)
	}
	rec := f.demand[g.DemandKey]
	if rec == nil || rec.expires <= mono {
		rec = &demandRecord{entries: make(map[string]demandEntry), born: nowMs}
		f.demand[g.DemandKey] = rec
	}
	field := demandField(g)
	before, ok := rec.entries[field]
	var latest int64
	for _, e := range rec.entries {
		latest = max(latest, e.at)
	}
	if len(rec.entries) == 0 || nowMs-latest > 2*grantMillis(g.DemandFresh) {
		rec.born = nowMs
	}
	for k, e := range rec.entries {
		if k != field && nowMs-e.at > demandTTL.Milliseconds() {
			delete(rec.entries, k)
		}
	}
	rec.entries[field] = nextDemand(g, before, ok, nowMs)
	rec.expires = mono + demandTTL

	gk := gotKey(g.Key)
	gr := f.got[gk]
	if gr == nil || gr.expires <= mono {
		gr = &gotRecord{byDC: make(map[string]uint64)}
		f.got[gk] = gr
	}
	was := gr.byDC[g.Datacenter]
	got := min(was+clampGrant(g.Charge), maxGrantCount)
	got -= min(clampGrant(g.Return), got)
	tokens := fairTokens(g, rec.entries, rec.born, got, total, remaining, nowMs)
	if got+tokens != was {
		gr.byDC[g.Datacenter] = got + tokens
		gr.expires = gotExpires
	}
	return tokens
}

// sweep drops the expired records.
func (f *memoryFair) sweep(mono time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, r := range f.demand {
		if r.expires <= mono {
			delete(f.demand, k)
		}
	}
	for k, r := range f.got {
		if r.expires <= mono {
			delete(f.got, k)
		}
	}
}
