// Package rlqs is Floodgate's Rate Limit Quota Service: it answers Envoy's
// envoy.filters.http.rate_limit_quota filter on
// envoy.service.rate_limit_quota.v3.RateLimitQuotaService/StreamRateLimitQuotas.
// Envoy keeps a token bucket per bucket and enforces it itself; the server
// fills those buckets with tokens the throttle engines already debited in
// the counter store, so that no request waits on any service and a limit
// still holds fleet-wide.
//
// It runs on the RLS replicas, beside ShouldRateLimit, and not on the
// engine: a replica already holds the two things a bucket needs, the
// policies (a bucket resolves through the very matcher ShouldRateLimit
// uses) and the lease machinery (replica.Hold). An Envoy stream is one more
// holder of a replica's leases, so Envoys on RLQS and Envoys on
// ShouldRateLimit share one count per key, and the engines stay behind the
// replicas, reachable only by them.
//
// What Envoy's client does, read from its source
// (source/extensions/filters/http/rate_limit_quota/global_client_impl.cc),
// and how the server is built for it:
//   - Usage reports come every reporting_interval (over 100 ms, by the
//     filter's proto validation); their time_elapsed is truncated to whole
//     seconds, so the server measures the time between reports itself.
//   - assignment_time_to_live is read as whole seconds (its nanos are
//     dropped); a TTL of 0 expires the assignment at once, into the
//     filter's expired_assignment_behavior.
//   - A token_bucket's fill rate is tokens_per_fill / fill_interval in
//     whole seconds: under one second it divides by zero. The server sends
//     fill_interval of a day and one token per fill, so a bucket holds what
//     was debited for it (max_tokens) and refills one token a day.
//   - requests_per_time_unit is logged as unsupported and ignored.
//   - An assignment whose token bucket equals the one in force (max_tokens,
//     tokens_per_fill and fill_interval's nanos compared) only restarts its
//     TTL; any other makes a new, full bucket. The server resends the same
//     assignment to extend it, and makes each new lease differ (its
//     fill_interval's nanos alternate) so that it always refills.
//   - abandon_action erases the bucket in Envoy; the server sends it for
//     buckets whose rule was deleted.
package rlqs
