package decisions

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/policy"
)

// errNoGranter refuses lease streams on an engine whose counter store
// cannot grant (memcached).
var errNoGranter = status.Error(codes.FailedPrecondition, "engine: its counter store grants no leases (use Redis or the in-process store)")

// Lease answers a replica's token requests, one reply per request in
// order, until the replica ends the stream or EndStreams is called.
func (e *Engine) Lease(stream grpc.BidiStreamingServer[enginepb.LeaseRequest, enginepb.LeaseReply]) error {
	if e.granter == nil {
		return errNoGranter
	}
	e.st.leaseStreams.Inc()
	defer e.st.leaseStreams.Dec()
	return serveStream(e, stream, func(r *enginepb.LeaseRequest) *enginepb.LeaseReply {
		return e.Grant(stream.Context(), r)
	})
}

// leaseAsk is one ask the engine resolved to a key; its limit and window
// end are in its grant.
type leaseAsk struct {
	i      int // the ask's place in the request
	domain string
	key    string // the cache key, without CounterPrefix
	algo   policy.Algorithm
	j      int    // its place in the grants of its algorithm
	burst  uint64 // a token bucket's size
	// global marks a key of scope global, capped by its datacenter's
	// holding; want is what it asked for.
	global bool
	want   uint64
}

// Grant answers one lease request: every ask whose descriptor a rule
// limits goes to the counter store in one round trip per algorithm, which
// debits the tokens granted. A key used up is published as throttled
// (until its window ends, or for a sliding window or a token bucket until
// a token may be granted again), so that replicas holding no lease for it
// deny it locally.
func (e *Engine) Grant(ctx context.Context, req *enginepb.LeaseRequest) *enginepb.LeaseReply {
	asks := req.GetAsks()
	reply := &enginepb.LeaseReply{Seq: req.GetSeq(), Grants: make([]*enginepb.Grant, len(asks))}
	holder := holderID(req.GetReplicaId(), req.GetIncarnation())
	snap := e.snapshot.Load()
	now := e.now()
	nowNano := now.UnixNano()
	// Every engine sees only the replicas that asked it: the fleet is at
	// least what the asking replica heard from the others.
	replicas := max(e.holders.touchReplica(holder, nowNano), int(req.GetReplicas()))
	reply.Replicas = uint32(replicas)

	var buf [256]byte
	var b leaseBatch
	resolved := make([]leaseAsk, 0, len(asks))
	for i, a := range asks {
		res, ok := resolveAsk(snap, a)
		if !ok {
			reply.Grants[i] = &enginepb.Grant{Status: enginepb.Grant_UNMATCHED}
			e.st.leaseUnmatched.Inc()
			continue
		}
		key := string(policy.AppendKey(buf[:0], e.keys, a.GetDomain(), a.GetEntries(), &res))
		window := time.Duration(res.WindowSeconds()) * time.Second
		windowEnd := res.WindowEnd()
		if res.Algorithm == policy.TokenBucket {
			windowEnd = bucketLeaseEnd(now)
		}
		// A key's share is taken over every active replica, not only those
		// that asked this engine for it: the others may ask another.
		holders, known := e.holders.touchKey(key, holder, nowNano, windowEnd)
		holders = max(holders, replicas)
		want, _ := policy.ClampHits(a.GetWant())
		charge, _ := policy.ClampHits(a.GetOverdraft())
		ret, _ := policy.ClampHits(a.GetReturned())
		g := counter.Grant{
			Key: e.o.CounterPrefix + key, Limit: uint64(res.RequestsPerUnit),
			WindowStart: res.WindowStart, Window: window,
			Want: want, Charge: charge, Return: ret, Floor: min(max(a.GetSeen(), known), uint64(res.RequestsPerUnit)),
			Divisor: uint64(e.o.LeaseShare) * uint64(holders),
			Ahead:   min(e.o.LeaseAhead, window/2),
		}
		la := leaseAsk{i: i, domain: a.GetDomain(), key: key, algo: res.Algorithm}
		if e.global != nil && res.Global() && res.Algorithm != policy.TokenBucket {
			// What the replica spent and denied since its last ask is the
			// datacenter's demand the global tier shares the key by.
			g.CapKey = e.global.note(g.Key, &res, window, now, policy.AddHits(a.GetUsed(), a.GetDenied()))
			g.CapCredit = e.global.coldCredit(g.Limit)
			la.global, la.want = true, want
			// A replica's seen counts every datacenter: only what this
			// engine saw the datacenter's own count at may restart it.
			g.Floor = min(known, g.Limit)
		}
		prevKey := ""
		if res.Algorithm == policy.SlidingWindow {
			prevKey = e.prevKey(a, &res, buf[:])
		}
		la.j, la.burst = b.add(g, &res, prevKey, known)
		resolved = append(resolved, la)
		reply.Grants[i] = &enginepb.Grant{Limit: res.RequestsPerUnit, WindowEnd: windowEnd, Holders: uint32(holders)}
		e.st.leaseUsed.Add(a.GetUsed())
	}
	if len(resolved) == 0 {
		return reply
	}
	// A store known to be down fails at once (its breaker is open), so the
	// replicas' waiting requests fall back at once too.
	gctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
	errs := b.grant(gctx, e, now)
	cancel()
	var exhausted []Decision
	for _, a := range resolved {
		g := reply.Grants[a.i]
		err := errs[a.algo]
		var keyErrs *counter.KeyErrors
		if err != nil && (!errors.As(err, &keyErrs) || counter.KeyErr(err, a.j) != nil) {
			g.Status = enginepb.Grant_UNAVAILABLE
			e.st.leaseUnavailable.Inc()
			continue
		}
		r := b.out(a)
		switch r.Status {
		case counter.GrantStale, counter.GrantEarly:
			g.Status = enginepb.Grant_STALE
			e.st.leaseStale.Inc()
			continue
		}
		g.Tokens = r.Tokens
		e.holders.noteTotal(a.key, r.Total)
		if a.global && r.Tokens < a.want && r.Total+r.Others < uint64(g.Limit) {
			e.global.shortOf(e.o.CounterPrefix+a.key, a.want-r.Tokens)
		}
		if d, used := b.judge(a, r, g, now); used {
			d.Domain, d.Key, d.Limit, d.Engine = a.domain, a.key, g.Limit, e.o.ID
			exhausted = append(exhausted, d)
		} else if a.global {
			e.global.capRemaining(g, r)
		}
		charge, ret := b.flow(a)
		e.st.leaseGrants.Inc()
		e.st.leaseGranted.Add(r.Tokens)
		e.st.leaseCharged.Add(charge)
		e.st.leaseReturned.Add(ret)
	}
	if len(exhausted) > 0 {
		e.mu.Lock()
		// Bounded like the pending hits: a throttle left out is published
		// when the key is next asked for, and the replicas deny it anyway
		// from their leases.
		room := max(0, e.o.MaxPendingKeys-len(e.exhausted))
		e.exhausted = append(e.exhausted, exhausted[:min(room, len(exhausted))]...)
		e.mu.Unlock()
	}
	return reply
}

// newThrottles adds to ds the keys grants used up, each once and only if
// not already throttled. Caller holds flushMu.
func (e *Engine) newThrottles(ds, exhausted []Decision) []Decision {
	if len(exhausted) == 0 {
		return ds
	}
	seen := make(map[string]bool, len(ds)+len(exhausted))
	for _, d := range ds {
		seen[d.Key] = true
	}
	for _, d := range exhausted {
		if _, ok := e.throttled[d.Key]; ok || seen[d.Key] {
			continue
		}
		seen[d.Key] = true
		d.Seq = e.seq.Add(1)
		ds = append(ds, d)
	}
	return ds
}
