#!/usr/bin/env bash
# Runs Floodgate's tests. They start real Redis and memcached servers on
# loopback and drive the dashboard in headless Chromium, so this installs
# the servers and the browser first when they are missing (Debian/Ubuntu,
# apt-get).
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v memcached >/dev/null || need+=(memcached)
# promtool checks every role's /metrics and deploy/prometheus/alerts.yaml
# (without it those checks are skipped, client_golang's lint still runs).
command -v promtool >/dev/null || need+=(prometheus)
# The dashboard's tests drive a headless Chromium.
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
if ((${#need[@]})); then
	echo "installing ${need[*]}" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "go not found: install Go 1.26 or later" >&2; exit 1; }

go vet ./...
# The fault suite holds calls to Envoy's 50 ms deadline while it kills and
# cuts off processes: it runs alone, after the rest, so that other
# packages' tests (a browser, helm) do not starve it of CPU.
go test -count=1 -timeout 15m "$@" $(go list ./... | grep -vE '/integration/(faults|datacenters)$')
go test -count=1 -timeout 10m "$@" ./integration/faults
# So do the datacenters in network namespaces: their partition case cuts
# a link at a set point of a 10-second window and heals it before the next.
go test -count=1 -timeout 5m "$@" ./integration/datacenters
# The Helm chart's tests are a module of their own (they need the Kubernetes
# API types, which Floodgate does not); they build helm with go install.
(cd deploy/helm && go vet ./... && go test -count=1 -timeout 10m "$@" ./...)

# Every fuzz target then searches beyond its corpus (testdata/fuzz) for a
# short while: FUZZTIME=0 skips that, a longer FUZZTIME searches further.
fuzztime=${FUZZTIME:-4s}
if [ "$fuzztime" != 0 ]; then
	go test -list '^Fuzz' ./... |
		awk '/^Fuzz/ { t[n++] = $1 } /^ok/ { for (i = 0; i < n; i++) print $2, t[i]; n = 0 }' |
		while read -r pkg target; do
			echo "fuzz $target ($pkg) for $fuzztime" >&2
			go test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$pkg" >/dev/null
		done
fi
