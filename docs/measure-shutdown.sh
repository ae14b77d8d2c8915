#!/usr/bin/env bash
# Times SIGTERM to exit of every role under traffic (floodgate bench at 200
# requests a second on the RLS roles, a replica's streams on the engine, a
# replica's xDS stream on the control plane; an engine stopped before its
# replica, as a rolling restart of engines does, and after it), for this tree's floodgate,
# for the floodgate of BEFORE (a git revision, default the one before
# --shutdown-timeout existed) and for envoyproxy/ratelimit, in one run, and
# writes docs/shutdown.txt. Installs envoyproxy/ratelimit with `go install`
# (pinned in docs/ratelimit-tools.sh) and redis-server with apt-get if
# missing. Loopback only, about half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
. docs/plot-tools.sh
tmp=$(mktemp -d)
. docs/ratelimit-tools.sh
before=${BEFORE:-0aec157}
trap 'stop_all; git worktree remove --force "$tmp/before" 2>/dev/null; rm -rf "$tmp"' EXIT

out=${OUT:-docs}
port=6400
install_ratelimit
go build -o "$tmp/floodgate" ./cmd/floodgate
git worktree add -q --detach "$tmp/before" "$before"
(cd "$tmp/before" && go build -o "$tmp/floodgate-before" ./cmd/floodgate)
start_redis $port
redis="redis://127.0.0.1:$port"

# timed_stop NAME PID: SIGTERM, then the milliseconds until the process exits.
timed_stop() {
	local t0 rc=0
	t0=$(date +%s%N)
	kill -TERM "$2"
	wait "$2" || rc=$?
	echo "$1 | $(( ($(date +%s%N) - t0) / 1000000 )) ms | exit $rc"
}
traffic() { "$tmp/floodgate" bench --addr "127.0.0.1:$1" --rate 200 --duration 3s --baseline=false --keys 50 >/dev/null 2>&1 & }

# start_pair runs $bin's engine and a replica streaming to it, under
# traffic; e and r are their pids.
start_pair() {
	"$bin" engine --redis "$redis" --grpc-addr 127.0.0.1:18591 --http-addr 127.0.0.1:18592 >/dev/null 2>&1 &
	e=$!
	listening 18591
	"$bin" rls --redis "$redis" --engine 127.0.0.1:18591 --grpc-addr 127.0.0.1:18581 --http-addr 127.0.0.1:18582 >/dev/null 2>&1 &
	r=$!
	listening 18581
	traffic 18581
	sleep 1.5
}

measure() { # measure LABEL BINARY
	local label=$1 bin=$2 e r s c x
	start_pair
	timed_stop "$label engine (a replica streaming to it)" $e
	timed_stop "$label rls (its engine gone)" $r
	start_pair
	timed_stop "$label rls (under traffic, streaming to its engine)" $r
	timed_stop "$label engine" $e
	"$bin" serve --redis "$redis" --grpc-addr 127.0.0.1:18681 --http-addr 127.0.0.1:18682 >/dev/null 2>&1 &
	s=$!
	listening 18681
	traffic 18681
	sleep 1.5
	timed_stop "$label serve" $s
	"$bin" control-plane --store memory: --grpc-addr 127.0.0.1:18700 --http-addr 127.0.0.1:18701 >/dev/null 2>&1 &
	c=$!
	listening 18700
	"$bin" rls --redis "$redis" --engine 127.0.0.1:18591 --xds 127.0.0.1:18700 --grpc-addr 127.0.0.1:18781 \
		--http-addr 127.0.0.1:18782 >/dev/null 2>&1 &
	x=$!
	sleep 1.5
	timed_stop "$label control-plane" $c
	kill "$x" 2>/dev/null || true
	wait "$x" 2>/dev/null || true
	wait # the traffic

	# An engine whose Redis hangs (SIGSTOP) with hits pending: its last
	# flush cannot finish.
	redis-server --port $((port + 1)) --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
	h=$!
	listening $((port + 1))
	"$bin" engine --redis "redis://127.0.0.1:$((port + 1))" --grpc-addr 127.0.0.1:18991 --http-addr 127.0.0.1:18992 >/dev/null 2>&1 &
	e=$!
	listening 18991
	"$bin" rls --redis "redis://127.0.0.1:$((port + 1))" --engine 127.0.0.1:18991 --async-mode report \
		--grpc-addr 127.0.0.1:18981 --http-addr 127.0.0.1:18982 >/dev/null 2>&1 &
	r=$!
	listening 18981
	"$tmp/floodgate" bench --addr 127.0.0.1:18981 --rate 2000 --duration 3s --baseline=false --keys 50 >/dev/null 2>&1 &
	sleep 1.5
	kill -STOP $h
	sleep 0.1
	timed_stop "$label engine (its Redis hung, hits pending)" $e
	kill -CONT $h
	timed_stop "$label rls (report mode, its engine gone)" $r
	kill $h
	wait
}

{
	echo "# docs/measure-shutdown.sh: SIGTERM to exit under traffic ($(nproc) cores)"
	echo "role | stop | exit"
	measure "floodgate" "$tmp/floodgate"
	measure "floodgate $before" "$tmp/floodgate-before"
	start_ratelimit 18881 $port
	traffic 18881
	sleep 1.5
	timed_stop "envoyproxy/ratelimit" "$ratelimit_pid"
	wait
} | tee "$out/shutdown.txt"
