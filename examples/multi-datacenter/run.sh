#!/usr/bin/env bash
# Three datacenters under one global limit, on loopback ports of one machine:
#   global tier Redis            127.0.0.1:6400
#   datacenter dc1|dc2|dc3 Redis 127.0.0.1:6411|6412|6413   (decisions and counters of the datacenter)
#   engines of dc<i>             gRPC 127.0.0.1:82<i>1, 82<i>3; HTTP 82<i>2, 82<i>4 (/healthcheck, /v1/global)
#   RLS replicas of dc<i>        gRPC 127.0.0.1:83<i>1, 83<i>2; HTTP 84<i>1, 84<i>2
# Requests never leave their datacenter; the engines lease the global limits' tokens from the global
# tier in the background. On Linux with sch_netem, WAN latency can be added to the global tier's port:
#   tc qdisc add dev lo root netem delay 30ms   (affects all of loopback; remove with: tc qdisc del dev lo root)
# Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/../.."
fg=${TMPDIR:-/tmp}/floodgate-multi-datacenter
go build -o "$fg" ./cmd/floodgate
policies=examples/multi-datacenter/policies
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

for port in 6400 6411 6412 6413; do
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
	pids+=($!)
done
sleep 0.5
global=redis://127.0.0.1:6400/0

for i in 1 2 3; do
	dc=dc$i
	local_redis=redis://127.0.0.1:641$i/0
	# Both engines of a datacenter share its Redis, so they share its
	# holding of each global key: neither counts a token twice.
	for e in 1 3; do
		$fg engine --datacenter "$dc" --id "$dc-engine-$e" \
			--grpc-addr "127.0.0.1:82$i$e" --http-addr "127.0.0.1:82$i$((e + 1))" \
			--redis "$local_redis" --global-redis "$global" --config "$policies" &
		pids+=($!)
	done
	# --max-replicas counts every datacenter's replicas, so that the
	# overdraft bound holds across datacenters: (1+ε)·L.
	for r in 1 2; do
		$fg rls --datacenter "$dc" --grpc-addr "127.0.0.1:83$i$r" --http-addr "127.0.0.1:84$i$r" \
			--engine "127.0.0.1:82${i}1,127.0.0.1:82${i}3" --engine-policy loadbalance \
			--max-replicas 6 --redis "$local_redis" --config "$policies" &
		pids+=($!)
	done
done

echo "floodgate: three datacenters; replicas on 127.0.0.1:8311-8332; try:"
echo "  $fg client --addr 127.0.0.1:8311 --domain api --descriptor user=alice    # global: 1000 a minute in all"
echo "  $fg client --addr 127.0.0.1:8322 --domain api --descriptor user=alice"
echo "  curl -s 127.0.0.1:8212/v1/global    # dc1's link to the global tier and its leases"
wait
