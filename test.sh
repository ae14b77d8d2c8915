#!/usr/bin/env bash
# Runs Floodgate's tests. They start real Redis and memcached servers on
# loopback, so this installs the servers first when they are missing
# (Debian/Ubuntu, apt-get).
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v memcached >/dev/null || need+=(memcached)
if ((${#need[@]})); then
	echo "installing ${need[*]}" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "go not found: install Go 1.26 or later" >&2; exit 1; }

go vet ./...
go test -count=1 -timeout 15m "$@" ./...
