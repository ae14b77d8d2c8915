#!/usr/bin/env bash
# A multi-replica Floodgate on one machine, on loopback ports:
#   Redis brokers        127.0.0.1:6390, 127.0.0.1:6391  (decisions go to both)
#   Redis counter store  127.0.0.1:6392                  (granted tokens, apart from the brokers)
#   throttle engines     127.0.0.1:8191, 127.0.0.1:8193  (one group, load-balanced)
#   RLS replicas (gRPC)  127.0.0.1:8181, 127.0.0.1:8182, 127.0.0.1:8183
#   RLS replicas (HTTP)  127.0.0.1:8171, 127.0.0.1:8172, 127.0.0.1:8173
# Point Envoy's floodgate cluster at the three replicas. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/../.."
fg=${TMPDIR:-/tmp}/floodgate-multi-replica
go build -o "$fg" ./cmd/floodgate
policies=examples/policies
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

for port in 6390 6391 6392; do
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
	pids+=($!)
done
sleep 0.5
brokers=redis://127.0.0.1:6390/0,redis://127.0.0.1:6391/0
counters=redis://127.0.0.1:6392/0

# Both engines grant from the same counter store, so they share one count;
# both publish every decision to both brokers.
$fg engine --grpc-addr 127.0.0.1:8191 --http-addr 127.0.0.1:8192 --redis "$brokers" --counter-redis "$counters" --config "$policies" --id engine-a &
pids+=($!)
$fg engine --grpc-addr 127.0.0.1:8193 --http-addr 127.0.0.1:8194 --redis "$brokers" --counter-redis "$counters" --config "$policies" --id engine-b &
pids+=($!)

for i in 1 2 3; do
	$fg rls --grpc-addr "127.0.0.1:818$i" --http-addr "127.0.0.1:817$i" \
		--engine 127.0.0.1:8191,127.0.0.1:8193 --engine-policy loadbalance \
		--redis "$brokers" --config "$policies" &
	pids+=($!)
done

echo "floodgate: replicas on 127.0.0.1:8181-8183; try:"
echo "  $fg client --addr 127.0.0.1:8182 --domain api --descriptor remote_address=10.0.0.1"
wait
