#!/usr/bin/env bash
# Measures how closely async mode holds a limit, report path against
# escrowed leases, from a gentle request rate up to full speed, and draws
# docs/accuracy.png (admitted / limit against request rate). Each point is
# `floodgate bench --accuracy`: 2 engines and 3 replicas in one process over a
# real Redis, one fresh key limited to 1000 an hour, driven round robin over
# the replicas. Needs redis-server and gnuplot; installs them with apt-get if
# missing. Everything runs on loopback, for a bounded time (about 2 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
. docs/plot-tools.sh

out=${OUT:-docs}
limit=1000
rates=${RATES:-500 1000 2000 5000 10000 20000 0} # 0: closed loop, full speed
port=6397
tmp=$(mktemp -d)
redis-server --port $port --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/floodgate" ./cmd/floodgate

: >"$out/bench-accuracy.txt"
for rate in $rates; do
	# Long enough to send three times the limit.
	duration=2s
	if ((rate > 0 && 3 * limit / rate > 2)); then duration=$((3 * limit / rate))s; fi
	"$tmp/floodgate" bench --accuracy --redis "redis://127.0.0.1:$port/0" --unit hour --limit $limit \
		--small-limit 0 --rate "$rate" --duration "$duration" --csv "$tmp/rate-$rate.csv" | tee -a "$out/bench-accuracy.txt"
	# One line per mode: achieved req/s, admitted / limit (the cold key).
	awk -F, '$1=="cold" && $2=="report"{print $7, $6}' "$tmp/rate-$rate.csv" >>"$tmp/report.dat"
	awk -F, '$1=="cold" && $2=="lease"{print $7, $6}' "$tmp/rate-$rate.csv" >>"$tmp/lease.dat"
done

gnuplot <<GNUPLOT
set terminal pngcairo size 900,520 font "sans,11"
set output "$out/accuracy.png"
set title "admitted / limit against request rate: 2 engines, 3 replicas, Redis, limit $limit ($(nproc) cores)"
set logscale x 10
set xlabel "requests / s (one key, round robin over the replicas)"
set ylabel "admitted / limit"
set key top left
set grid
set yrange [0.9:*]
plot "$tmp/report.dat" using 1:2 with linespoints lw 2 title "--async-mode report (admit, then report)", \
     "$tmp/lease.dat" using 1:2 with linespoints lw 2 title "--async-mode lease (escrowed leases)", \
     1.01 with lines dt 2 lc rgb "gray" title "1.01"
GNUPLOT
echo "wrote $out/accuracy.png"
