package ratelimitenv

import "path/filepath"

// policies reads where the policies come from: the files goruntime reads
// below RUNTIME_ROOT, or an xDS server of the standard RateLimitConfig.
func (r *reader) policies() {
	switch typ := r.str("CONFIG_TYPE", "FILE"); typ {
	case "FILE":
		// With RUNTIME_WATCH_ROOT (the default) goruntime loads the keys
		// below ROOT/SUBDIRECTORY that start with APPDIRECTORY; without it,
		// every file below ROOT/SUBDIRECTORY/APPDIRECTORY: the same files.
		dir := filepath.Join(r.str("RUNTIME_ROOT", "/srv/runtime_data/current"),
			r.str("RUNTIME_SUBDIRECTORY", ""), r.str("RUNTIME_APPDIRECTORY", "config"))
		r.set("config", dir, "RUNTIME_ROOT", "RUNTIME_SUBDIRECTORY", "RUNTIME_APPDIRECTORY")
		r.set("config-all-files", "true")
		if !r.boolean("RUNTIME_IGNOREDOTFILES", false) {
			r.set("config-dotfiles", "true", "RUNTIME_IGNOREDOTFILES")
		}
	case "GRPC_XDS_SOTW":
		r.set("xds", r.str("CONFIG_GRPC_XDS_SERVER_URL", "localhost:18000"), "CONFIG_GRPC_XDS_SERVER_URL")
		r.set("xds-type", "standard", "CONFIG_TYPE")
		r.set("node-id", r.str("CONFIG_GRPC_XDS_NODE_ID", "default"), "CONFIG_GRPC_XDS_NODE_ID")
		r.xdsTLS()
	default:
		r.fail("CONFIG_TYPE", typ, "want FILE or GRPC_XDS_SOTW")
	}
	r.boolVar("force-start-without-config", "FORCE_START_WITHOUT_INITIAL_CONFIG")
	r.boolVar("healthy-with-one-config", "HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED")
	r.boolVar("merge-domain-config", "MERGE_DOMAIN_CONFIG")
}

// xdsTLS reads the xDS client's TLS. envoyproxy/ratelimit trusts the
// system's roots without a CA file; Floodgate's xDS client needs the file.
func (r *reader) xdsTLS() {
	if !r.boolean("CONFIG_GRPC_XDS_SERVER_USE_TLS", false) {
		return
	}
	if !r.has("CONFIG_GRPC_XDS_SERVER_TLS_CACERT") {
		r.fail("CONFIG_GRPC_XDS_SERVER_USE_TLS", "true", "Floodgate needs the CA file of the xDS server in CONFIG_GRPC_XDS_SERVER_TLS_CACERT")
	}
	r.fromVar("xds-ca", "CONFIG_GRPC_XDS_SERVER_TLS_CACERT")
	r.fromVar("xds-cert", "CONFIG_GRPC_XDS_CLIENT_TLS_CERT")
	r.fromVar("xds-key", "CONFIG_GRPC_XDS_CLIENT_TLS_KEY")
	r.fromVar("xds-server-name", "CONFIG_GRPC_XDS_SERVER_TLS_SAN")
}
