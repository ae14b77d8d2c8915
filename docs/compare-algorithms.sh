#!/usr/bin/env bash
# Exact mode's cost per algorithm on one Redis, side by side with the fixed
# window and a constant-OK baseline: closed loop at 1 and 64 callers (full
# load), then open loop at 2 000 requests a second (a gentle rate), each
# over 1 000 keys whose limits are never reached. Writes docs/algorithms.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'stop_all; rm -rf "$tmp"' EXIT
. docs/ratelimit-tools.sh
go build -o "$tmp/floodgate" ./cmd/floodgate
start_redis 26395
cat >"$tmp/algo.yaml" <<'YAML'
domain: algo
descriptors:
  - key: fixed
    rate_limit: {unit: minute, requests_per_unit: 1000000000}
  - key: sliding
    rate_limit: {unit: minute, requests_per_unit: 1000000000, algorithm: sliding_window}
  - key: bucket
    rate_limit: {unit: second, requests_per_unit: 100000000, burst: 1000000000, algorithm: token_bucket}
  - key: two
    rate_limits:
      - {unit: second, requests_per_unit: 100000000, name: per_second}
      - {unit: hour, requests_per_unit: 1000000000, name: per_hour}
YAML
{
	echo "# docs/compare-algorithms.sh, $(date -u +%Y-%m-%d), $(nproc) cores"
	for key in fixed sliding bucket two; do
		for load in "--workers 1,64" "--workers 64 --rate 2000"; do
			echo "## $key: $load"
			redis-cli -p 26395 flushall >/dev/null
			"$tmp/floodgate" bench --start exact --redis redis://127.0.0.1:26395/0 --config "$tmp/algo.yaml" \
				--domain algo --descriptor "$key=k" --keys 1000 $load --duration 3s --rounds 1 2>&1
		done
	done
} | tee docs/algorithms.txt
