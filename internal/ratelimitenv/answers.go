package ratelimitenv

import "strconv"

// answers reads what shapes the answers and the counter keys.
func (r *reader) answers() {
	r.boolVar("shadow-mode", "SHADOW_MODE")
	r.boolVar("quota-mode", "QUOTA_MODE")
	r.boolVar("response-dynamic-metadata", "RESPONSE_DYNAMIC_METADATA")
	r.boolVar("stop-increment-over-limit", "STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT")
	r.boolVar("response-headers", "LIMIT_RESPONSE_HEADERS_ENABLED")
	r.fromVar("header-limit", "LIMIT_LIMIT_HEADER")
	r.fromVar("header-remaining", "LIMIT_REMAINING_HEADER")
	r.fromVar("header-reset", "LIMIT_RESET_HEADER")
	r.fromVar("key-prefix", "CACHE_KEY_PREFIX")
	if v := r.str("NEAR_LIMIT_RATIO", ""); v != "" {
		if _, err := strconv.ParseFloat(v, 32); err != nil {
			r.fail("NEAR_LIMIT_RATIO", v, "want a number such as 0.8")
		}
		r.set("near-limit-ratio", v, "NEAR_LIMIT_RATIO")
	}
	if r.boolean("TRACING_ENABLED", false) {
		r.env.Notes = append(r.env.Notes, Note{Var: "TRACING_ENABLED", Why: "tracing is not supported"})
		return
	}
	r.skip("tracing is off", "TRACING_SERVICE_NAME", "TRACING_SERVICE_NAMESPACE", "TRACING_SERVICE_INSTANCE_ID",
		"TRACING_EXPORTER_PROTOCOL", "TRACING_SAMPLING_RATE")
}

// skip notes the variables of names that are set as needing nothing.
func (r *reader) skip(why string, names ...string) {
	for _, name := range names {
		if r.has(name) {
			r.env.Notes = append(r.env.Notes, Note{Var: name, Supported: true, Why: why})
		}
	}
}
