package metrics

import (
	"fmt"
	"slices"
	"strings"
)

// The gostats names stay the statsd contract (envoyproxy/ratelimit's, and
// Floodgate's own); this table is the one place that says which
// Prometheus series each becomes, as envoyproxy/ratelimit's statsd
// exporter mapping does (examples/prom-statsd-exporter/conf.yaml). The
// first rule whose pattern and kind match a name wins.
//
// A pattern is dotted: "*" matches one segment, "x_*" one segment that
// starts x_ (capturing the rest), "+" one or more (joined with "."); captures are numbered from 1 in labels ("domain=$1"). A label
// may be fixed ("reason=overflow"). An empty family name drops the stat.
type promRule struct {
	pattern string
	kind    statKind
	family  string
	labels  string
	help    string
	// untyped counters keep envoyproxy/ratelimit's names, which lack the
	// "_total" suffix that promtool's lint asks of a counter: exposed
	// untyped, PromQL reads them the same and the names stay as existing
	// dashboards expect (OpenMetrics would add "_total").
	untyped bool
	// scale multiplies values: a timer's milliseconds into seconds.
	scale float64
	// tagged families carry --stats-extra-tags as labels.
	tagged bool
	// zero families are exposed at 0 before their first count.
	zero bool
}

type statKind int

const (
	counterStat statKind = iota
	gaugeStat
	timerStat
)

// responseBuckets are the response time histogram's bounds in seconds:
// an RLS answering from memory takes tens of microseconds, one waiting on
// a store or a lease milliseconds.
var responseBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

var promRules = buildPromRules()

func buildPromRules() []promRule {
	var r []*promRule
	add := func(pattern string, kind statKind, family, labels, help string) *promRule {
		r = append(r, &promRule{pattern: pattern, kind: kind, family: family, labels: labels, help: help})
		return r[len(r)-1]
	}
	// envoyproxy/ratelimit's series, names and labels as its exporter
	// mapping makes them; key2 is empty for a one-level rule and holds
	// every deeper level, dotted, for a deeper one.
	for _, c := range []string{"total_hits", "over_limit", "near_limit", "within_limit", "shadow_mode"} {
		fam := "ratelimit_service_rate_limit_" + c
		help := "Descriptors answered by a rate limit rule: " + strings.ReplaceAll(c, "_", " ") + "."
		for _, p := range []struct{ pattern, labels string }{
			{"ratelimit.service.rate_limit.*.*." + c, "domain=$1,key1=$2,key2="},
			{"ratelimit.service.rate_limit.*.*.+." + c, "domain=$1,key1=$2,key2=$3"},
			// Request values past --max-value-stats share one series.
			{"ratelimit.service.detailed_overflow." + c, "domain=other,key1=other,key2=other"},
		} {
			x := add(p.pattern, counterStat, fam, p.labels, help)
			x.untyped, x.tagged = true, true
		}
	}
	for _, x := range []*promRule{
		add("ratelimit.service.rate_limit.*.domain_not_found", counterStat, "ratelimit_service_rate_limit_domain_not_found", "domain=$1", "Descriptors of requests for a domain no policy names."),
		add("ratelimit.service.detailed_overflow.domain_not_found", counterStat, "ratelimit_service_rate_limit_domain_not_found", "domain=other", "Descriptors of requests for a domain no policy names."),
		add("ratelimit.service.call.should_rate_limit.*", counterStat, "ratelimit_service_should_rate_limit_error", "err_type=$1", "ShouldRateLimit calls that failed, or descriptors clamped (hits_clamped), by kind."),
		add("ratelimit_server.*.total_requests", counterStat, "ratelimit_service_total_requests", "grpc_method=$1", "gRPC calls received, by method."),
		add("ratelimit.service.config_load_success", counterStat, "ratelimit_service_config_load_success", "", "Policy loads that succeeded."),
		add("ratelimit.service.config_load_error", counterStat, "ratelimit_service_config_load_error", "", "Policy loads that failed."),
		add("ratelimit.service.global_shadow_mode", counterStat, "ratelimit_service_global_shadow_mode", "", "Descriptors over their limit let through by --shadow-mode."),
	} {
		x.untyped, x.tagged = true, true
	}
	for _, x := range r {
		if strings.HasSuffix(x.family, "config_load_success") || strings.HasSuffix(x.family, "config_load_error") {
			x.zero = true
		}
	}
	rt := add("ratelimit_server.*.response_time", timerStat, "ratelimit_service_response_time_seconds", "grpc_method=$1", "gRPC call latency, by method.")
	rt.scale, rt.tagged = 0.001, true
	// The Go runtime's stats go to statsd; Prometheus has the Go collector.
	add("ratelimit.go.+", gaugeStat, "", "", "")
	add("ratelimit.go.+", counterStat, "", "", "")

	// A replica: hits it streams to engines, leases, decisions it receives.
	add("hit_reporter.hits_reported", counterStat, "floodgate_replica_hits_reported_total", "", "Hits a replica streamed to an engine.")
	add("hit_reporter.hits_overflow", counterStat, "floodgate_replica_hits_dropped_total", "reason=overflow", "Hits a replica could not report, by reason.")
	add("hit_reporter.hits_unreported", counterStat, "floodgate_replica_hits_dropped_total", "reason=unreported", "Hits a replica could not report, by reason.")
	add("hit_reporter.hits_oversize", counterStat, "floodgate_replica_hits_dropped_total", "reason=oversize", "Hits a replica could not report, by reason.")
	add("hit_reporter.hits_unacknowledged", counterStat, "floodgate_replica_hits_dropped_total", "reason=unacknowledged", "Hits a replica could not report, by reason.")
	add("hit_reporter.batches", counterStat, "floodgate_replica_hit_batches_total", "", "Hit batches a replica sent.")
	add("hit_reporter.send_errors", counterStat, "floodgate_replica_hit_send_errors_total", "", "Hit batches whose send failed.")
	add("hit_reporter.reconnects", counterStat, "floodgate_replica_engine_reconnects_total", "stream=hits", "Reconnections of a replica's streams to its engines, by stream.")
	add("hit_reporter.engines_connected", gaugeStat, "floodgate_replica_engines_connected", "stream=hits", "Engines a replica's streams are connected to, by stream.")
	add("lease.reconnects", counterStat, "floodgate_replica_engine_reconnects_total", "stream=lease", "Reconnections of a replica's streams to its engines, by stream.")
	add("lease.engines_connected", gaugeStat, "floodgate_replica_engines_connected", "stream=lease", "Engines a replica's streams are connected to, by stream.")
	add("lease.tokens_*", counterStat, "floodgate_replica_lease_tokens_total", "event=$1", "Lease tokens at a replica: granted, returned, stranded (held when their window ended), overdrawn.")
	add("lease.fallback_*", counterStat, "floodgate_replica_fallback_total", "outcome=$1,cause=lease", "Descriptors answered without an engine (fallback active), by outcome and cause.")
	add("async_limiter.engine_down_denied", counterStat, "floodgate_replica_fallback_total", "outcome=denied,cause=engine_down", "Descriptors answered without an engine (fallback active), by outcome and cause.")
	add("lease.*", counterStat, "floodgate_replica_lease_events_total", "event=$1", "Lease events at a replica: asks, grants, waits, wait_timeouts, exhausted_denied, table_full, asks_dropped, unavailable.")
	add("decision_cache.decisions_*", counterStat, "floodgate_replica_decisions_received_total", "outcome=$1", "Decisions a replica received, applied or stale.")
	add("decision_cache.*", counterStat, "floodgate_replica_decision_cache_total", "event=$1", "Decision cache entries evicted or expired.")

	// The RLQS on a replica: Envoy's rate_limit_quota streams and buckets.
	add("rlqs.streams", gaugeStat, "floodgate_rlqs_streams", "", "Envoy RLQS streams open at a replica.")
	add("rlqs.buckets", gaugeStat, "floodgate_rlqs_buckets", "", "RLQS buckets the open streams report.")
	add("rlqs.reports", counterStat, "floodgate_rlqs_reports_total", "", "RLQS usage reports received.")
	add("rlqs.usage.*", counterStat, "floodgate_rlqs_usage_requests_total", "outcome=$1", "Requests Envoys reported enforcing on RLQS buckets, allowed or denied.")
	add("rlqs.assignments.*", counterStat, "floodgate_rlqs_assignments_total", "action=$1", "RLQS bucket actions sent: token_bucket (a new lease), extended (TTL only), allow_all, deny_all, abandon.")
	add("rlqs.tokens.*", counterStat, "floodgate_rlqs_tokens_total", "event=$1", "Lease tokens of RLQS buckets: assigned to Envoys, returned from them, charged for what they admitted on fallbacks.")
	add("rlqs.*", counterStat, "floodgate_rlqs_events_total", "event=$1", "RLQS events: buckets_unmatched (no rule: the default blanket), lease_unavailable, window_turnovers (token buckets replaced as their window ended).")

	// The decision bus, on engines (publish) and replicas (receive).
	add("bus.published", counterStat, "floodgate_bus_decisions_published_total", "", "Decisions published on the bus.")
	add("bus.received", counterStat, "floodgate_bus_decisions_received_total", "", "Decisions received from the bus.")
	add("bus.connected", gaugeStat, "floodgate_bus_connected", "", "1 while the decision bus subscription is connected.")
	add("bus.*", counterStat, "floodgate_bus_events_total", "event=$1", "Decision bus events: publish_errors, decode_errors, reconnects, refreshed, refresh_checked, catch_up_pages.")

	// An engine.
	add("engine.hits", counterStat, "floodgate_engine_hits_total", "", "Hits an engine received.")
	add("engine.hits_*", counterStat, "floodgate_engine_hits_dropped_total", "reason=$1", "Hits an engine did not count, or clamped, by reason.")
	add("engine.batches", counterStat, "floodgate_engine_hit_batches_total", "", "Hit batches an engine received.")
	add("engine.streams", gaugeStat, "floodgate_engine_streams", "stream=hits", "Replica streams open at an engine, by stream.")
	add("engine.lease.streams", gaugeStat, "floodgate_engine_streams", "stream=lease", "Replica streams open at an engine, by stream.")
	add("engine.streams_refused.*", counterStat, "floodgate_engine_streams_refused_total", "reason=$1", "Replica streams an engine refused, by reason.")
	add("engine.decisions.in_force", gaugeStat, "floodgate_engine_decisions_in_force", "", "Throttle decisions in force at an engine.")
	add("engine.decisions.*", counterStat, "floodgate_engine_decisions_total", "event=$1", "Throttle decisions of an engine: throttled, released, throttled_evicted, refused_at_cap, release_checked.")
	add("engine.lease.grants", counterStat, "floodgate_engine_lease_grants_total", "", "Leases an engine granted.")
	add("engine.lease.tokens_*", counterStat, "floodgate_engine_lease_tokens_total", "event=$1", "Lease tokens at an engine: granted, overdrawn, returned, used.")
	add("engine.lease.*", counterStat, "floodgate_engine_lease_events_total", "event=$1", "Lease asks an engine could not serve: unmatched, stale, unavailable.")
	add("engine.counter_down", gaugeStat, "floodgate_store_down", "role=engine", "1 while the counter store's breaker is open.")
	add("engine.counter_breaker_opens", counterStat, "floodgate_store_breaker_opens_total", "role=engine", "Times the counter store's breaker opened.")
	add("engine.*", counterStat, "floodgate_engine_events_total", "event=$1", "Engine events: flushes, counter_errors, counter_key_errors, publish_errors.")
	// An engine's link to the global tier (--global-redis): the datacenter
	// is the process's, a label through --stats-extra-tags.
	add("global.tokens_*", counterStat, "floodgate_global_tokens_total", "event=$1", "Global-tier tokens of a datacenter's engine: granted to it, charged (spent beyond its holding, fallback included), returned.")
	add("global.link_up", gaugeStat, "floodgate_global_link_up", "", "1 while the engine reaches the global tier, 0 while its datacenter is cut off and falls back.")
	add("global.keys", gaugeStat, "floodgate_global_keys", "", "Global keys' windows an engine follows.")
	add("global.datacenters", gaugeStat, "floodgate_global_datacenters", "", "Datacenters in the global tier, as an engine last counted them.")
	add("global.*", counterStat, "floodgate_global_events_total", "event=$1", "Global-tier events of an engine: rounds, grants (batches sent over the WAN), errors, fallbacks, keys_dropped, stale.")
	add("exact.counter_down", gaugeStat, "floodgate_store_down", "role=exact", "1 while the counter store's breaker is open.")
	add("exact.counter_breaker_opens", counterStat, "floodgate_store_breaker_opens_total", "role=exact", "Times the counter store's breaker opened.")
	add("exact.store_down.*", counterStat, "floodgate_exact_store_down_total", "outcome=$1", "Descriptors exact mode answered while its store was down, by how.")
	add("ratelimit.redis_pool.cx_active", gaugeStat, "floodgate_redis_pool_connections", "pool=main", "Connections exact mode's Redis pool holds open, by pool (main, per_second).")
	add("ratelimit.redis_per_second_pool.cx_active", gaugeStat, "floodgate_redis_pool_connections", "pool=per_second", "Connections exact mode's Redis pool holds open, by pool (main, per_second).")
	add("ratelimit.redis_pool.*", counterStat, "floodgate_redis_pool_events_total", "pool=main,event=$1", "Connections exact mode's Redis pool made (cx_total) and closed (cx_local_close), by pool.")
	add("ratelimit.redis_per_second_pool.*", counterStat, "floodgate_redis_pool_events_total", "pool=per_second,event=$1", "Connections exact mode's Redis pool made (cx_total) and closed (cx_local_close), by pool.")

	// xDS, on the control plane (per node) and its clients.
	add("xds.server.node.*.ack", counterStat, "floodgate_xds_acks_total", "node=$1", "xDS ACKs, by node (dots in the node id read as _).")
	add("xds.server.node.*.nack", counterStat, "floodgate_xds_nacks_total", "node=$1", "xDS NACKs, by node.")
	add("xds.server.node.*.undelivered", counterStat, "floodgate_xds_undelivered_total", "node=$1", "xDS versions sent that a node never answered, by node.")
	// Their sums are the per-node series summed.
	add("xds.server.*", counterStat, "", "", "")
	add("xds.server.snapshot.*", counterStat, "floodgate_xds_snapshots_total", "outcome=$1", "Policy snapshots the control plane built (updated) or refused (rejected).")
	add("xds.server.streams", gaugeStat, "floodgate_xds_streams", "", "xDS streams open at the control plane.")
	add("xds.server.admin.*.*", counterStat, "floodgate_admin_writes_total", "method=$1,outcome=$2", "Admin API writes (put, delete), accepted or refused.")
	add("xds.client.update.*", counterStat, "floodgate_xds_client_updates_total", "outcome=$1", "xDS updates a role applied or rejected.")
	add("xds.client.connect.failed", counterStat, "floodgate_xds_client_connect_failures_total", "", "Failed connections to the control plane.")
	add("xds.client.connected", gaugeStat, "floodgate_xds_client_connected", "", "1 while connected to the control plane.")

	// Every role's servers and reloaded files.
	add("grpc.inflight", gaugeStat, "floodgate_grpc_inflight", "", "gRPC calls in flight.")
	add("grpc.inflight_refused", counterStat, "floodgate_grpc_inflight_refused_total", "", "gRPC calls refused over --max-inflight.")
	add("*.reloaded", counterStat, "floodgate_file_reloads_total", "file=$1,outcome=reloaded", "Reloads of watched files (tls, token_file), by outcome.")
	add("*.reload_failed", counterStat, "floodgate_file_reloads_total", "file=$1,outcome=failed", "Reloads of watched files (tls, token_file), by outcome.")

	// Anything else keeps its gostats name as a label, bounded like the rest.
	add("+", counterStat, "floodgate_stat_total", "stat=$1", "A counter with no series of its own, by its statsd name.")
	add("+", gaugeStat, "floodgate_stat", "stat=$1", "A gauge with no series of its own, by its statsd name.")
	add("+", timerStat, "", "", "")
	out := make([]promRule, len(r))
	for i, x := range r {
		out[i] = *x
	}
	return out
}

// labelSpec is one label of a rule: fixed, or the capture-th capture.
type labelSpec struct {
	name    string
	fixed   string
	capture int // from 1; 0: fixed
}

func parseLabels(spec string) ([]labelSpec, error) {
	if spec == "" {
		return nil, nil
	}
	var out []labelSpec
	for _, pair := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label %q: want name=value or name=$N", pair)
		}
		l := labelSpec{name: k, fixed: v}
		if n, err := fmt.Sscanf(v, "$%d", &l.capture); err == nil && n == 1 {
			l.fixed = ""
		}
		out = append(out, l)
	}
	return out, nil
}

// matchPattern matches a dotted name against a pattern, returning the
// captures.
func matchPattern(pattern, name []string) ([]string, bool) {
	var caps []string
	for i, p := range pattern {
		if len(name) == 0 {
			return nil, false
		}
		switch p {
		case "*":
			caps = append(caps, name[0])
			name = name[1:]
		case "+":
			// "+" takes what the rest of the pattern leaves.
			rest := len(pattern) - i - 1
			if len(name)-rest < 1 {
				return nil, false
			}
			caps = append(caps, strings.Join(name[:len(name)-rest], "."))
			name = name[len(name)-rest:]
		default:
			// "tokens_*" matches a segment starting tokens_, capturing the rest.
			if prefix, ok := strings.CutSuffix(p, "*"); ok {
				rest, ok := strings.CutPrefix(name[0], prefix)
				if !ok || rest == "" {
					return nil, false
				}
				caps = append(caps, rest)
				name = name[1:]
				continue
			}
			if name[0] != p {
				return nil, false
			}
			name = name[1:]
		}
	}
	return caps, len(name) == 0
}

// FamilyNames are the names of every series the rules can make, with a
// histogram's _bucket, _sum and _count: what dashboards and alerts may
// query besides the Go and process collectors'.
func FamilyNames() []string {
	var names []string
	for _, r := range promRules {
		if r.family == "" || slices.Contains(names, r.family) {
			continue
		}
		names = append(names, r.family)
		if r.kind == timerStat {
			names = append(names, r.family+"_bucket", r.family+"_sum", r.family+"_count")
		}
	}
	return names
}
