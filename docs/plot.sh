#!/usr/bin/env bash
# Measures baseline, async (leases and report) and exact mode side by side over a concurrency
# sweep and draws docs/performance.png (throughput and p99 against workers).
# Needs redis-server (exact mode) and gnuplot; installs them with apt-get if
# missing. Everything runs on loopback, for a bounded time (about 3 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
. docs/plot-tools.sh

out=${OUT:-docs}
workers=${WORKERS:-1,4,16,64,128,256}
duration=${DURATION:-2s}
rounds=${ROUNDS:-2}
port=6398
tmp=$(mktemp -d)
redis-server --port $port --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/floodgate" ./cmd/floodgate

common=(--workers "$workers" --duration "$duration" --rounds "$rounds" --keys 1000)
"$tmp/floodgate" bench --start async,async-report "${common[@]}" --csv "$tmp/async.csv" | tee "$out/bench-async.txt"
"$tmp/floodgate" bench --start exact --redis "redis://127.0.0.1:$port/0" "${common[@]}" --csv "$tmp/exact.csv" | tee "$out/bench-exact.txt"

# One file per line of the plot: workers, req/s, p99 (ms).
awk -F, '$1=="baseline"{print $2, $3, $6/1000}' "$tmp/async.csv" >"$tmp/baseline.dat"
awk -F, '$1=="floodgate-async"{print $2, $3, $6/1000}' "$tmp/async.csv" >"$tmp/async.dat"
awk -F, '$1=="floodgate-async-report"{print $2, $3, $6/1000}' "$tmp/async.csv" >"$tmp/report.dat"
awk -F, '$1=="floodgate-exact"{print $2, $3, $6/1000}' "$tmp/exact.csv" >"$tmp/exact.dat"

gnuplot <<GNUPLOT
set terminal pngcairo size 1200,480 font "sans,11"
set output "$out/performance.png"
set multiplot layout 1,2 title "Floodgate vs a constant-OK gRPC server, same machine, same run ($(nproc) cores)"
set logscale x 2
set xlabel "concurrent callers"
set key top left
set grid
set ylabel "requests / s"
set yrange [0:*]
plot "$tmp/baseline.dat" using 1:2 with linespoints lw 2 title "baseline (constant OK)", \
     "$tmp/async.dat" using 1:2 with linespoints lw 2 title "floodgate --mode async (leases)", \
     "$tmp/report.dat" using 1:2 with linespoints lw 2 title "floodgate --async-mode report", \
     "$tmp/exact.dat" using 1:2 with linespoints lw 2 title "floodgate --mode exact (Redis)"
set ylabel "p99 latency (ms)"
plot "$tmp/baseline.dat" using 1:3 with linespoints lw 2 title "baseline (constant OK)", \
     "$tmp/async.dat" using 1:3 with linespoints lw 2 title "floodgate --mode async (leases)", \
     "$tmp/report.dat" using 1:3 with linespoints lw 2 title "floodgate --async-mode report", \
     "$tmp/exact.dat" using 1:3 with linespoints lw 2 title "floodgate --mode exact (Redis)"
unset multiplot
GNUPLOT
echo "wrote $out/performance.png"
