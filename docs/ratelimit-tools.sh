# Sourced by the compare scripts: the processes they start, and
# envoyproxy/ratelimit, the baseline they compare Floodgate with.
# Needs $tmp (a scratch directory the caller removes).

ratelimit_version=${RATELIMIT_VERSION:-v1.4.1-0.20260122083618-3fb702589d36}

# pids are the processes started here; stop_all ends them, last first.
pids=()
stop_all() {
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
}

# listening waits until something accepts on 127.0.0.1:$1.
listening() {
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done
	echo "nothing listens on $1" >&2
	exit 1
}

# install_ratelimit puts envoyproxy/ratelimit's server at $tmp/service_cmd.
install_ratelimit() { GOBIN="$tmp" go install "github.com/envoyproxy/ratelimit/src/service_cmd@$ratelimit_version"; }

# start_redis PORT runs a redis-server that keeps nothing on disk.
start_redis() {
	redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
	pids+=($!)
	listening "$1" # envoyproxy/ratelimit exits when Redis does not answer at start
}

# start_ratelimit GRPC_PORT REDIS_PORT runs envoyproxy/ratelimit on
# examples/policies/api.yaml; its HTTP and debug ports follow GRPC_PORT.
# ratelimit_pid is its pid.
start_ratelimit() {
	mkdir -p "$tmp/runtime/ratelimit/config"
	cp examples/policies/api.yaml "$tmp/runtime/ratelimit/config/"
	RUNTIME_ROOT="$tmp/runtime" RUNTIME_SUBDIRECTORY=ratelimit RUNTIME_WATCH_ROOT=false USE_STATSD=false \
		LOG_LEVEL=error REDIS_SOCKET_TYPE=tcp REDIS_URL="127.0.0.1:$2" \
		HOST=127.0.0.1 PORT=$(($1 + 1)) GRPC_HOST=127.0.0.1 GRPC_PORT="$1" DEBUG_HOST=127.0.0.1 DEBUG_PORT=$(($1 + 2)) \
		"$tmp/service_cmd" >"$tmp/ratelimit.log" 2>&1 &
	ratelimit_pid=$!
	pids+=($ratelimit_pid)
	listening "$1"
}
