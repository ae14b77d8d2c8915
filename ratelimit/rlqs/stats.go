package rlqs

import (
	stats "github.com/lyft/gostats"
)

// serverStats are the server's stats, under "rlqs".
type serverStats struct {
	streams, buckets               stats.Gauge
	reports, allowed, denied       stats.Counter
	tokenBuckets, extended         stats.Counter
	allowAll, denyAll, abandoned   stats.Counter
	tokensAssigned, tokensReturned stats.Counter
	tokensCharged                  stats.Counter
	unmatched, unavailable         stats.Counter
	turnovers                      stats.Counter
}

func newServerStats(root stats.Scope) serverStats {
	sc := root.Scope("rlqs")
	as := sc.Scope("assignments")
	return serverStats{
		streams:        sc.NewGauge("streams"),
		buckets:        sc.NewGauge("buckets"),
		reports:        sc.NewCounter("reports"),
		allowed:        sc.NewCounter("usage.allowed"),
		denied:         sc.NewCounter("usage.denied"),
		tokenBuckets:   as.NewCounter("token_bucket"),
		extended:       as.NewCounter("extended"),
		allowAll:       as.NewCounter("allow_all"),
		denyAll:        as.NewCounter("deny_all"),
		abandoned:      as.NewCounter("abandon"),
		tokensAssigned: sc.NewCounter("tokens.assigned"),
		tokensReturned: sc.NewCounter("tokens.returned"),
		tokensCharged:  sc.NewCounter("tokens.charged"),
		unmatched:      sc.NewCounter("buckets_unmatched"),
		unavailable:    sc.NewCounter("lease_unavailable"),
		turnovers:      sc.NewCounter("window_turnovers"),
	}
}
