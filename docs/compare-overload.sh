#!/usr/bin/env bash
# Drives Floodgate (`floodgate serve`, async on its in-process engine, and
# `serve --mode exact` over Redis) and envoyproxy/ratelimit (over the same
# Redis) from a gentle load to far past capacity, closed loop, and prints
# for each level the throughput and latency of `floodgate bench` beside the
# server's resident memory (VmRSS now, VmHWM its peak so far): past
# capacity, latency should grow and memory stay bounded. Writes
# docs/overload.txt. Installs envoyproxy/ratelimit with `go install`
# (pinned in docs/ratelimit-tools.sh) and redis-server with apt-get if
# missing. Loopback only, bounded: about 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
. docs/plot-tools.sh
tmp=$(mktemp -d)
. docs/ratelimit-tools.sh
trap 'stop_all; rm -rf "$tmp"' EXIT

levels=${LEVELS:-4 64 1024 4096}
duration=${DURATION:-4s}
out=${OUT:-docs}
port=6399
install_ratelimit
go build -o "$tmp/floodgate" ./cmd/floodgate
start_redis $port
start_ratelimit 18381 $port
declare -A server=([envoyproxy/ratelimit]=$ratelimit_pid)
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
	echo "server workers | target workers req/s p50 p90 p99 p99.9 errors over_limit missed (floodgate bench) | server memory"
	for target in floodgate-async floodgate-exact envoyproxy/ratelimit; do
		for w in $levels; do
			line=$("$tmp/floodgate" bench --addr "${addr[$target]}" --baseline=false --workers "$w" --conns 8 \
				--duration "$duration" --warmup 0 --rounds 1 --keys 1000 | awk 'NR==2')
			echo "$target workers=$w | $line | $(mem "${server[$target]}")"
		done
	done
} | tee "$out/overload.txt"
