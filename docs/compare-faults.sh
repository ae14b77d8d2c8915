#!/usr/bin/env bash
# Runs the fault suite (integration/faults: real processes, eight callers
# with Envoy's 50 ms deadline, namespaces where the machine allows them) with
# its report on, and the same Redis kill on envoyproxy/ratelimit beside it,
# and writes the table to docs/faults.txt. Installs envoyproxy/ratelimit with
# `go install` (pinned below) and redis-server with apt-get if missing.
# Everything runs on loopback or in namespaces the suite creates, for about a
# minute.
set -euo pipefail
cd "$(dirname "$0")/.."
. docs/plot-tools.sh

ratelimit_version=${RATELIMIT_VERSION:-v1.4.1-0.20260122083618-3fb702589d36}
out=${OUT:-docs}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" go install "github.com/envoyproxy/ratelimit/src/service_cmd@$ratelimit_version"
RATELIMIT_BIN="$tmp/service_cmd" FAULTS_REPORT=1 go test -count=1 -v ./integration/faults/ >"$tmp/faults.log" 2>&1 ||
	{ cat "$tmp/faults.log"; exit 1; }
{
	echo "# FAULTS_REPORT=1 go test ./integration/faults/ ($(nproc) cores; envoyproxy/ratelimit $ratelimit_version)"
	grep -E '^--- SKIP|^    --- SKIP' -A1 "$tmp/faults.log" | grep -v '^--$' || true
	sed -n '/^| fault/,/^[^|]/p' "$tmp/faults.log" | grep '^|'
} | tee "$out/faults.txt"
