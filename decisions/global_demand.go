package decisions

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
)

// demandSmoothing is the time constant of a global key's demand: long
// enough to even out the replicas' asks, which come in bursts, short
// enough to follow a shift of traffic within a second or two.
const demandSmoothing = 500 * time.Millisecond

// demandTTL is how long a key's demand is kept after its last ask.
const demandTTL = 10 * time.Second

// keyDemand is the demand of every window of a global key through this
// engine: what its replicas spent and denied, a rate. A window fetched
// ahead shares it with the window in force.
type keyDemand struct {
	offered uint64 // since at
	// avg/weight is the rate, tokens a second, smoothed.
	avg, weight float64
	at          time.Time
	lastAsk     time.Time
}

// family names every window of k: its key without the window start.
func (k *globalKey) family() string {
	return strings.TrimSuffix(k.key, strconv.FormatInt(k.windowStart, 10))
}

// demandOf is k's demand record, made when missing. Caller holds t.mu.
func (t *globalTier) demandOf(k *globalKey, now time.Time) *keyDemand {
	f := k.family()
	d := t.demand[f]
	if d == nil {
		d = &keyDemand{at: now}
		t.demand[f] = d
	}
	return d
}

// offer adds what a replica spent and denied of k. Caller holds t.mu.
func (t *globalTier) offer(k *globalKey, hits uint64, now time.Time) {
	d := t.demandOf(k, now)
	if now.Sub(d.lastAsk) > demandSmoothing {
		// Back from quiet: the mean since now, not a decayed past.
		*d = keyDemand{at: now}
	}
	d.offered = min(d.offered+hits, math.MaxUint32)
	d.lastAsk = now
}

// shareByDemand makes g a grant shared by the datacenters' demand
// (counter's fair_grant.go), with this datacenter's demand through this
// engine: what its replicas spent and denied lately, a rate (a starved
// datacenter spends little: its denied hits say what it wants). Not what
// the key's grants spend, which come in bursts as the holding is topped
// up, nor what g asks for, which adds up what grants came up short.
// Caller holds t.mu.
func (t *globalTier) shareByDemand(k *globalKey, g *counter.Grant, now time.Time, dcs int) {
	d := t.demandOf(k, now)
	// One reading a round, shared by the key's windows.
	if dt := now.Sub(d.at); dt >= t.o.Interval/2 {
		// A moving average started from 0 and divided by the weight it
		// has gathered: over its first half second, the mean since the first
		// ask, not a first reading's burst.
		a := 1 - math.Exp(-dt.Seconds()/demandSmoothing.Seconds())
		d.avg += a * (float64(d.offered)/dt.Seconds() - d.avg)
		d.weight += a * (1 - d.weight)
		d.offered, d.at = 0, now
	}
	var rate float64
	if d.weight > 0 {
		rate = d.avg / d.weight
	}
	// Before its first reading the demand is 0, unknown: the store then
	// grants as without demand, and counts it for no other datacenter.
	g.Datacenter, g.Asker, g.DemandKey = t.o.Datacenter, t.e.o.ID, k.family()+demandSuffix
	g.Demand = uint64(math.Ceil(min(rate, math.MaxUint32)))
	g.Datacenters = uint64(dcs)
	g.DemandFresh = max(demandFreshRounds*t.o.Interval, demandFreshMin)
}

// A datacenter's demand report counts for demandFreshRounds rounds of this
// one's, and demandFreshMin, at least: the store stretches it to two of
// the slowest datacenter's rounds once it has seen them, but a datacenter
// far from the global tier takes longer over its first rounds of a key.
const (
	demandFreshRounds = 5
	demandFreshMin    = 250 * time.Millisecond
)

// demandSuffix names a global key's demand record in the global tier.
const demandSuffix = "|demand"

// forgetDemand drops the demand of keys not asked for in demandTTL.
// Caller holds t.mu.
func (t *globalTier) forgetDemand(now time.Time) {
	for f, d := range t.demand {
		if now.Sub(d.lastAsk) > demandTTL {
			delete(t.demand, f)
		}
	}
}
