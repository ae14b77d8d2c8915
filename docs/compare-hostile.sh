#!/usr/bin/env bash
# Sends the hostile request shapes of `floodgate bench --hostile` to
# Floodgate (exact mode over Redis, and async) and to envoyproxy/ratelimit
# over the same Redis and the same policy (examples/policies/api.yaml), and
# writes what each answered to docs/hostile.txt. Installs envoyproxy/ratelimit
# with `go install` (pinned below) and redis-server with apt-get if missing.
# Everything runs on loopback, for a bounded time (about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
. docs/plot-tools.sh

ratelimit_version=${RATELIMIT_VERSION:-v1.4.1-0.20260122083618-3fb702589d36}
out=${OUT:-docs}
port=6398
tmp=$(mktemp -d)
pids=()
stop() { for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done; }
listening() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "nothing listens on $1" >&2; exit 1; }
trap 'stop; rm -rf "$tmp"' EXIT
GOBIN="$tmp" go install "github.com/envoyproxy/ratelimit/src/service_cmd@$ratelimit_version"
go build -o "$tmp/floodgate" ./cmd/floodgate
redis-server --port $port --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
pids+=($!)
listening $port # envoyproxy/ratelimit exits when Redis does not answer at start

mkdir -p "$tmp/runtime/ratelimit/config"
cp examples/policies/api.yaml "$tmp/runtime/ratelimit/config/"
RUNTIME_ROOT="$tmp/runtime" RUNTIME_SUBDIRECTORY=ratelimit RUNTIME_WATCH_ROOT=false USE_STATSD=false \
	LOG_LEVEL=error REDIS_SOCKET_TYPE=tcp REDIS_URL="127.0.0.1:$port" \
	HOST=127.0.0.1 PORT=18180 GRPC_HOST=127.0.0.1 GRPC_PORT=18181 DEBUG_HOST=127.0.0.1 DEBUG_PORT=18170 \
	"$tmp/service_cmd" >"$tmp/ratelimit.log" 2>&1 &
ratelimit_pid=$!
pids+=($ratelimit_pid)
"$tmp/floodgate" serve --mode exact --redis "redis://127.0.0.1:$port/1" --grpc-addr 127.0.0.1:18281 \
	--http-addr 127.0.0.1:18280 --log-level error &
pids+=($!)
listening 18181
listening 18281

{
	echo "# floodgate serve --mode exact (Redis)"
	"$tmp/floodgate" bench --hostile --addr 127.0.0.1:18281
	echo
	echo "# floodgate serve (async, escrowed leases, in-process engine)"
	"$tmp/floodgate" bench --hostile --start async
	echo
	echo "# envoyproxy/ratelimit $ratelimit_version (Redis)"
	"$tmp/floodgate" bench --hostile --addr 127.0.0.1:18181 || true
	kill -0 $ratelimit_pid 2>/dev/null || echo "(envoyproxy/ratelimit exited: $(grep -m1 -E 'panic|fatal' "$tmp/ratelimit.log"))"
} | tee "$out/hostile.txt"
