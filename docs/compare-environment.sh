#!/usr/bin/env bash
# Starts envoyproxy/ratelimit and bare `floodgate` with one environment:
# the variables of envoyproxy/ratelimit's docker-compose example, on
# loopback, on its own example policies (examples/ratelimit/config), each
# on its own Redis. Then sends both the same calls and compares the
# answers (status codes, limits, remaining) and the rate-limit stats their
# each sends to statsd (over TCP, as envoyproxy/ratelimit's USE_STATSD
# does; a python3 listener catches them). Writes docs/environment.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'stop_all; rm -rf "$tmp"' EXIT
. docs/ratelimit-tools.sh
install_ratelimit
go build -o "$tmp/floodgate" ./cmd/floodgate
src=$(go mod download -json "github.com/envoyproxy/ratelimit@$ratelimit_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
mkdir -p "$tmp/runtime/ratelimit"
cp -r "$src/examples/ratelimit/config" "$tmp/runtime/ratelimit/"
chmod -R u+w "$tmp/runtime"

# statsd PORT FILE keeps every line sent to 127.0.0.1:PORT over TCP.
statsd() {
	python3 -u -c '
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        with open(sys.argv[2], "ab") as f:
            for line in self.rfile:
                f.write(line)
                f.flush()
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$1" "$2" &
	pids+=($!)
	listening "$1"
}

# start NAME BIN GRPC_PORT REDIS_PORT STATSD_PORT: HTTP on GRPC_PORT+1,
# debug on +2.
start() {
	env -i PATH="$PATH" USE_STATSD=true STATSD_HOST=127.0.0.1 STATSD_PORT="$5" STATS_FLUSH_INTERVAL=1s \
		LOG_LEVEL=error REDIS_SOCKET_TYPE=tcp REDIS_URL="127.0.0.1:$4" \
		RUNTIME_ROOT="$tmp/runtime" RUNTIME_SUBDIRECTORY=ratelimit RUNTIME_WATCH_ROOT=false CONFIG_TYPE=FILE \
		HOST=127.0.0.1 PORT=$(($3 + 1)) GRPC_HOST=127.0.0.1 GRPC_PORT="$3" DEBUG_HOST=127.0.0.1 DEBUG_PORT=$(($3 + 2)) \
		"$2" >"$tmp/$1.log" 2>&1 &
	pids+=($!)
	listening "$3"
}
start_redis 26390
start_redis 26391
statsd 28125 "$tmp/ratelimit.statsd"
statsd 29125 "$tmp/floodgate.statsd"
start ratelimit "$tmp/service_cmd" 28081 26390 28125
start floodgate "$tmp/floodgate" 29081 26391 29125

# The calls: every rule of the example policies, and values no rule names.
calls=(
	"mongo_cps database=users" "mongo_cps database=default" "mongo_cps database=other"
	"rl category=account" "rl source_cluster=proxy,destination_cluster=bkthomps" "rl source_cluster=proxy,destination_cluster=mock"
	"rl source_cluster=proxy,destination_cluster=override" "rl source_cluster=proxy,destination_cluster=fake"
	"rl foo=x" "rl foo=x,bar=y" "rl foo=x,bar=bkthomps" "rl foo=x,bar=banned" "rl foo=x,baz=z" "rl foo=x,baz=not-so-shady"
	"rl foo=x,baz=shady" "rl foo=x,bay=1" "rl unspec=a" "rl unspec=b" "rl qux=1" "rl nothing=here" "nodomain k=v"
	"rl category=account|source_cluster=proxy,destination_cluster=bkthomps"
	"rl foo=x,bar=banned|source_cluster=proxy,destination_cluster=override"
)
ask() { # PORT DOMAIN DESCRIPTORS: the answer without the seconds until reset
	local args=(client --addr "127.0.0.1:$1" --domain "$2")
	IFS='|' read -ra ds <<<"$3"
	for d in "${ds[@]}"; do args+=(--descriptor "$d"); done
	"$tmp/floodgate" "${args[@]}" 2>&1 | sed 's/  *reset in .*//' || true
}
same=0 differ=0
for round in 1 2 3 4 5; do
	for c in "${calls[@]}"; do
		# Both calls of a pair fall in one second, for the per-second rule.
		ns=$((10#$(date +%N)))
		((ns < 800000000)) || sleep "0.$(printf %09d $((1000000000 - ns)))"
		a=$(ask 28081 ${c%% *} "${c#* }")
		b=$(ask 29081 ${c%% *} "${c#* }")
		if [ "$a" = "$b" ]; then same=$((same + 1)); else
			differ=$((differ + 1))
			printf 'round %d, %s\n  envoyproxy/ratelimit: %s\n  floodgate:            %s\n' "$round" "$c" "$a" "$b" >&2
		fi
	done
done
# Two flushes later every count has been sent; sum each counter.
sleep 2.5
stats() { awk -F'[:|]' '$1 ~ /^ratelimit\.service\.rate_limit\./ && $3 == "c" { n[$1] += $2 } END { for (k in n) print k, n[k] }' "$1" | sort; }
stats "$tmp/ratelimit.statsd" >"$tmp/ratelimit.stats"
stats "$tmp/floodgate.statsd" >"$tmp/floodgate.stats"
{
	echo "# docs/compare-environment.sh, $(date -u +%Y-%m-%d)"
	echo "# one environment (envoyproxy/ratelimit's docker-compose example on loopback) for both;"
	echo "# envoyproxy/ratelimit $ratelimit_version"
	echo "answers: $same the same, $differ different, over ${#calls[@]} calls x 5 rounds"
	echo "rate-limit counters (name and total) sent to statsd: envoyproxy/ratelimit $(wc -l <"$tmp/ratelimit.stats"), floodgate $(wc -l <"$tmp/floodgate.stats"), in both $(comm -12 "$tmp/ratelimit.stats" "$tmp/floodgate.stats" | wc -l)"
	echo "only in envoyproxy/ratelimit:"
	comm -23 "$tmp/ratelimit.stats" "$tmp/floodgate.stats" | sed 's/^/  /'
	echo "only in floodgate:"
	comm -13 "$tmp/ratelimit.stats" "$tmp/floodgate.stats" | sed 's/^/  /'
} | tee docs/environment.txt
