package ratelimitenv

// variables are every variable envoyproxy/ratelimit's settings read
// (src/settings/settings.go), in its order.
var variables = []string{
	"HOST", "PORT", "DEBUG_HOST", "DEBUG_PORT", "GRPC_UDS", "GRPC_HOST", "GRPC_PORT",
	"GRPC_MAX_CONNECTION_AGE", "GRPC_MAX_CONNECTION_AGE_GRACE",
	"GRPC_SERVER_USE_TLS", "GRPC_SERVER_TLS_CERT", "GRPC_SERVER_TLS_KEY", "GRPC_CLIENT_TLS_CACERT", "GRPC_CLIENT_TLS_SAN",
	"LOG_LEVEL", "LOG_FORMAT",
	"CONFIG_TYPE", "FORCE_START_WITHOUT_INITIAL_CONFIG",
	"CONFIG_GRPC_XDS_NODE_ID", "CONFIG_GRPC_XDS_NODE_METADATA", "CONFIG_GRPC_XDS_SERVER_URL",
	"CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL", "CONFIG_GRPC_XDS_CLIENT_ADDITIONAL_HEADERS",
	"CONFIG_GRPC_XDS_SERVER_USE_TLS", "CONFIG_GRPC_XDS_CLIENT_TLS_CERT", "CONFIG_GRPC_XDS_CLIENT_TLS_KEY",
	"CONFIG_GRPC_XDS_SERVER_TLS_CACERT", "CONFIG_GRPC_XDS_SERVER_TLS_SAN",
	"XDS_CLIENT_BACKOFF_INITIAL_INTERVAL", "XDS_CLIENT_BACKOFF_MAX_INTERVAL", "XDS_CLIENT_BACKOFF_RANDOM_FACTOR",
	"XDS_CLIENT_BACKOFF_JITTER", "XDS_CLIENT_MAX_MSG_SIZE_IN_BYTES",
	"USE_DOG_STATSD", "USE_DOG_STATSD_MOGRIFIERS", "USE_STATSD", "STATSD_HOST", "STATSD_PORT", "EXTRA_TAGS",
	"STATS_FLUSH_INTERVAL", "DISABLE_STATS", "USE_PROMETHEUS", "PROMETHEUS_ADDR", "PROMETHEUS_PATH", "PROMETHEUS_MAPPER_YAML",
	"RUNTIME_ROOT", "RUNTIME_SUBDIRECTORY", "RUNTIME_APPDIRECTORY", "RUNTIME_IGNOREDOTFILES", "RUNTIME_WATCH_ROOT",
	"EXPIRATION_JITTER_MAX_SECONDS", "LOCAL_CACHE_SIZE_IN_BYTES", "NEAR_LIMIT_RATIO", "CACHE_KEY_PREFIX", "BACKEND_TYPE",
	"STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT",
	"LIMIT_RESPONSE_HEADERS_ENABLED", "LIMIT_LIMIT_HEADER", "LIMIT_REMAINING_HEADER", "LIMIT_RESET_HEADER",
	"HEALTHY_WITH_AT_LEAST_ONE_CONFIG_LOADED",
	"REDIS_SOCKET_TYPE", "REDIS_TYPE", "REDIS_URL", "REDIS_POOL_SIZE", "REDIS_AUTH", "REDIS_TLS",
	"REDIS_TLS_CLIENT_CERT", "REDIS_TLS_CLIENT_KEY", "REDIS_TLS_CACERT", "REDIS_TLS_SKIP_HOSTNAME_VERIFICATION",
	"REDIS_PIPELINE_WINDOW", "REDIS_PIPELINE_LIMIT",
	"REDIS_PERSECOND", "REDIS_PERSECOND_SOCKET_TYPE", "REDIS_PERSECOND_TYPE", "REDIS_PERSECOND_URL",
	"REDIS_PERSECOND_POOL_SIZE", "REDIS_PERSECOND_AUTH", "REDIS_PERSECOND_TLS",
	"REDIS_SENTINEL_AUTH", "REDIS_PERSECOND_SENTINEL_AUTH",
	"REDIS_PERSECOND_PIPELINE_WINDOW", "REDIS_PERSECOND_PIPELINE_LIMIT",
	"REDIS_HEALTH_CHECK_ACTIVE_CONNECTION", "REDIS_TIMEOUT", "REDIS_PERSECOND_TIMEOUT",
	"REDIS_POOL_ON_EMPTY_BEHAVIOR", "REDIS_PERSECOND_POOL_ON_EMPTY_BEHAVIOR",
	"MEMCACHE_HOST_PORT", "MEMCACHE_MAX_IDLE_CONNS", "MEMCACHE_SRV", "MEMCACHE_SRV_REFRESH", "MEMCACHE_TLS",
	"MEMCACHE_TLS_CLIENT_CERT", "MEMCACHE_TLS_CLIENT_KEY", "MEMCACHE_TLS_CACERT", "MEMCACHE_TLS_SKIP_HOSTNAME_VERIFICATION",
	"SHADOW_MODE", "QUOTA_MODE", "RESPONSE_DYNAMIC_METADATA", "MERGE_DOMAIN_CONFIG",
	"TRACING_ENABLED", "TRACING_SERVICE_NAME", "TRACING_SERVICE_NAMESPACE", "TRACING_SERVICE_INSTANCE_ID",
	"TRACING_EXPORTER_PROTOCOL", "TRACING_SAMPLING_RATE",
}

// sharedNames are variables that other programs set as well.
var sharedNames = []string{"HOST", "LOG_LEVEL", "LOG_FORMAT"}

// needless are variables Floodgate takes without a setting, and why.
var needless = map[string]string{
	"RUNTIME_WATCH_ROOT":                     "Floodgate checks the policy files every --watch-interval, so a symlink swap at the root and a change below it are both seen",
	"REDIS_PIPELINE_WINDOW":                  "exact mode pipelines the requests that arrive while a round trip is in flight, with no window to tune",
	"REDIS_PIPELINE_LIMIT":                   "exact mode pipelines the requests that arrive while a round trip is in flight, with no window to tune",
	"REDIS_PERSECOND_PIPELINE_WINDOW":        "exact mode pipelines the requests that arrive while a round trip is in flight, with no window to tune",
	"REDIS_PERSECOND_PIPELINE_LIMIT":         "exact mode pipelines the requests that arrive while a round trip is in flight, with no window to tune",
	"REDIS_HEALTH_CHECK_ACTIVE_CONNECTION":   "exact mode's health always follows the counter store (its circuit breaker)",
	"REDIS_POOL_ON_EMPTY_BEHAVIOR":           "a request waits for a connection at most --store-timeout",
	"REDIS_PERSECOND_POOL_ON_EMPTY_BEHAVIOR": "a request waits for a connection at most --store-timeout",
	"MEMCACHE_MAX_IDLE_CONNS":                "Floodgate keeps as many idle memcached connections as it runs requests in parallel",
	"EXPIRATION_JITTER_MAX_SECONDS":          "counter keys expire at their window's end; there is no jitter to add",
	"STATSD_HOST":                            "no statsd sink is on",
	"STATSD_PORT":                            "no statsd sink is on",
	"PROMETHEUS_ADDR":                        "USE_PROMETHEUS is off",
	"PROMETHEUS_PATH":                        "USE_PROMETHEUS is off",
	"PROMETHEUS_MAPPER_YAML":                 "USE_PROMETHEUS is off",
}

// unsupported say why Floodgate has no equivalent.
var unsupported = map[string]string{
	"USE_DOG_STATSD_MOGRIFIERS":                     "DogStatsD mogrifiers are not supported: tags come from --stats-extra-tags only",
	"LOCAL_CACHE_SIZE_IN_BYTES":                     "exact mode keeps no local cache of over-limit keys; the default async mode answers every request from a local cache",
	"CONFIG_GRPC_XDS_NODE_METADATA":                 "the xDS node carries only its id (--node-id)",
	"CONFIG_GRPC_XDS_CLIENT_ADDITIONAL_HEADERS":     "the xDS client sends no extra headers",
	"CONFIG_GRPC_XDS_SERVER_CONNECT_RETRY_INTERVAL": "the xDS client retries with its own backoff (and tries each --xds address in turn)",
	"XDS_CLIENT_BACKOFF_INITIAL_INTERVAL":           "the xDS client retries with its own backoff",
	"XDS_CLIENT_BACKOFF_MAX_INTERVAL":               "the xDS client retries with its own backoff",
	"XDS_CLIENT_BACKOFF_RANDOM_FACTOR":              "the xDS client retries with its own backoff",
	"XDS_CLIENT_BACKOFF_JITTER":                     "the xDS client retries with its own backoff",
	"XDS_CLIENT_MAX_MSG_SIZE_IN_BYTES":              "the xDS client takes gRPC's default largest message",
	"TRACING_SERVICE_NAME":                          "tracing is not supported",
	"TRACING_SERVICE_NAMESPACE":                     "tracing is not supported",
	"TRACING_SERVICE_INSTANCE_ID":                   "tracing is not supported",
	"TRACING_EXPORTER_PROTOCOL":                     "tracing is not supported",
	"TRACING_SAMPLING_RATE":                         "tracing is not supported",
}
