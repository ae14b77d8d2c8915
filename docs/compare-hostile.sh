#!/usr/bin/env bash
# Sends the hostile request shapes of `floodgate bench --hostile` to
# Floodgate (exact mode over Redis, and async) and to envoyproxy/ratelimit
# over the same Redis and the same policy (examples/policies/api.yaml), and
# writes what each answered to docs/hostile.txt. Installs envoyproxy/ratelimit
# with `go install` (pinned in docs/ratelimit-tools.sh) and redis-server with
# apt-get if missing. Everything runs on loopback, for about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
. docs/plot-tools.sh
tmp=$(mktemp -d)
. docs/ratelimit-tools.sh
trap 'stop_all; rm -rf "$tmp"' EXIT

out=${OUT:-docs}
port=6398
install_ratelimit
go build -o "$tmp/floodgate" ./cmd/floodgate
start_redis $port
start_ratelimit 18181 $port
"$tmp/floodgate" serve --mode exact --redis "redis://127.0.0.1:$port/1" --grpc-addr 127.0.0.1:18281 \
	--http-addr 127.0.0.1:18280 --log-level error &
pids+=($!)
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
	kill -0 "$ratelimit_pid" 2>/dev/null || echo "(envoyproxy/ratelimit exited: $(grep -m1 -E 'panic|fatal' "$tmp/ratelimit.log"))"
} | tee "$out/hostile.txt"
