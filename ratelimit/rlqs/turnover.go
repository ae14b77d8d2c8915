package rlqs

import (
	"time"

	rlqsv3 "github.com/envoyproxy/go-control-plane/envoy/service/rate_limit_quota/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

// Envoy spends a token whenever a request comes, so tokens debited from a
// window and still in its bucket when that window ends would be spent in the
// next one, on top of the next window's own. At a window's end the server
// therefore replaces every token bucket of that window at once, without
// waiting for the client's next report: with the new window's tokens when
// the lease has them at hand, else with DENY_ALL until they come (within the
// server's Wait, in a second message). Envoy drops a replaced bucket's
// tokens, so a window's tokens are spent within it, give or take the time
// the replacement takes to reach Envoy.

// nextTurnover is when the earliest window of the stream's token buckets
// ends; zero when none is in force.
func (st *stream) nextTurnover() time.Time {
	st.mu.Lock()
	defer st.mu.Unlock()
	var next int64
	for _, b := range st.buckets {
		if !b.leased() || !b.spending() {
			continue
		}
		if end := b.windowEnd(); next == 0 || end < next {
			next = end
		}
	}
	if next == 0 {
		return time.Time{}
	}
	return time.Unix(next, 0)
}

// turnover replaces the token buckets one of whose windows has ended: it
// sends what can go at once, then the top-ups the engines grant within the
// Wait.
func (st *stream) turnover() error {
	s := st.s
	now := s.o.Now()
	first := &rlqsv3.RateLimitQuotaResponse{}
	var ups []topUp
	st.mu.Lock()
	defer st.mu.Unlock()
	interval, ttl := st.timing()
	for _, b := range st.buckets {
		if !b.leased() || b.windowEnd() > now.Unix() || !b.spending() {
			continue
		}
		items, ok := s.items(b.domain, b.id, now)
		limits := enforced(items)
		if !ok || zero(items) || len(limits) != len(b.accts) {
			continue // its rule changed: the next report settles it
		}
		for i := range b.accts {
			st.startWindow(&b.accts[i], &limits[i])
		}
		if !b.leased() {
			st.blanket(first, b, typev3.RateLimitStrategy_DENY_ALL, ttl, now)
			continue
		}
		s.st.turnovers.Inc()
		up := st.topUp(b, now, interval)
		if !up.waiting() {
			// At hand (tokens given back to the leases): one message.
			up.take()
			st.assign(first, up, ttl, now)
			continue
		}
		st.blanket(first, b, typev3.RateLimitStrategy_DENY_ALL, ttl, now)
		ups = append(ups, up)
	}
	if len(first.GetBucketAction()) > 0 {
		if err := st.send(first); err != nil {
			return err
		}
	}
	if len(ups) == 0 {
		return nil
	}
	st.gather(ups)
	then := &rlqsv3.RateLimitQuotaResponse{}
	for _, up := range ups {
		if up.got() > 0 || up.b.exhausted() {
			st.assign(then, up, ttl, s.o.Now())
		} else {
			up.giveBack(0)
		}
	}
	if len(then.GetBucketAction()) > 0 {
		return st.send(then)
	}
	return nil
}
