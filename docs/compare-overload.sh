#!/usr/bin/env bash
# Drives Floodgate (`floodgate serve`, async on its in-process engine, and
# `serve --mode exact` over Redis) and envoyproxy/ratelimit (over the same
# Redis) from a gentle load to far past capacity, closed loop, and prints
# for each level the throughput and latency of `floodgate bench` beside the
# server's resident memory (VmRSS now, VmHWM its peak so far): past
# capacity, latency should grow and memory stay bounded. Writes
# docs/overload.txt. Installs envoyproxy/ratelimit with `go install` (pinned
# below) and redis-server with apt-get if missing. Loopback only, bounded:
# about 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
. docs/plot-tools.sh

ratelimit_version=${RATELIMIT_VERSION:-v1.4.1-0.20260122083618-3fb702589d36}
levels=${LEVELS:-4 64 1024 4096}
duration=${DURATION:-4s}
out=${OUT:-docs}
port=6399
tmp=$(mktemp -d)
pids=()
stop() { for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done; }
trap 'stop; rm -rf "$tmp"' EXIT
listening() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "nothing listens on $1" >&2; exit 1; }
GOBIN="$tmp" go install "github.com/envoyproxy/ratelimit/src/service_cmd@$ratelimit_version"
go build -o "$tmp/floodgate" ./cmd/floodgate
redis-server --port $port --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
pids+=($!)
listening $port

mkdir -p "$tmp/runtime/ratelimit/config"
cp examples/policies/api.yaml "$tmp/runtime/ratelimit/config/"
RUNTIME_ROOT="$tmp/runtime" RUNTIME_SUBDIRECTORY=ratelimit RUNTIME_WATCH_ROOT=false USE_STATSD=false \
	LOG_LEVEL=error REDIS_SOCKET_TYPE=tcp REDIS_URL="127.0.0.1:$port" \
	HOST=127.0.0.1 PORT=18380 GRPC_HOST=127.0.0.1 GRPC_PORT=18381 DEBUG_HOST=127.0.0.1 DEBUG_PORT=18370 \
	"$tmp/service_cmd" >"$tmp/ratelimit.log" 2>&1 &
pids+=($!)
declare -A server=([envoyproxy/ratelimit]=$! )
"$tmp/floodgate" serve --grpc-addr 127.0.0.1:18481 --http-addr 127.0.0.1:18480 --log-level error &
pids+=($!)
server[floodgate-async]=$!
"$tmp/floodgate" serve --mode exact --redis "redis://127.0.0.1:$port/1" --grpc-addr 127.0.0.1:18581 \
	--http-addr 127.0.0.1:18580 --log-level error &
pids+=($!)
server[floodgate-exact]=$!
declare -A addr=([envoyproxy/ratelimit]=127.0.0.1:18381 [floodgate-async]=127.0.0.1:18481 [floodgate-exact]=127.0.0.1:18581)
for a in "${addr[@]}"; do listening "${a##*:}"; done

mem() { awk '/^VmRSS|^VmHWM/ { printf "%s %d MiB  ", $1, $2 / 1024 }' "/proc/$1/status"; }
{
	echo "# docs/compare-overload.sh: closed loop, 8 connections, $duration per level, 1000 keys, $(nproc) cores"
	echo "server workers | $("$tmp/floodgate" bench --baseline=false --workers 1 --duration 10ms --warmup 0 --rounds 1 | awk 'NR==1') | server memory"
	for target in floodgate-async floodgate-exact envoyproxy/ratelimit; do
		for w in $levels; do
			line=$("$tmp/floodgate" bench --addr "${addr[$target]}" --baseline=false --workers "$w" --conns 8 \
				--duration "$duration" --warmup 0 --rounds 1 --keys 1000 | awk 'NR==2')
			echo "$target workers=$w | $line | $(mem "${server[$target]}")"
		done
	done
} | tee "$out/overload.txt"
