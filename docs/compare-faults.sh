#!/usr/bin/env bash
# Runs the fault suite (integration/faults: real processes, eight callers
# with Envoy's 50 ms deadline, namespaces where the machine allows them) with
# its report on, and the same Redis kill on envoyproxy/ratelimit beside it,
# and writes the table to docs/faults.txt. Installs envoyproxy/ratelimit with
# `go install` (pinned in docs/ratelimit-tools.sh) and redis-server with apt-get if missing.
# Everything runs on loopback or in namespaces the suite creates, for about a
# minute.
set -euo pipefail
cd "$(dirname "$0")/.."
. docs/plot-tools.sh
tmp=$(mktemp -d)
. docs/ratelimit-tools.sh
trap 'rm -rf "$tmp"' EXIT

out=${OUT:-docs}
install_ratelimit
RATELIMIT_BIN="$tmp/service_cmd" FAULTS_REPORT=1 go test -count=1 -v ./integration/faults/ >"$tmp/faults.log" 2>&1 ||
	{ cat "$tmp/faults.log"; exit 1; }
{
	echo "# FAULTS_REPORT=1 go test ./integration/faults/ ($(nproc) cores; envoyproxy/ratelimit $ratelimit_version)"
	# Skipped cases, and why (every skip names its cause after "netem:",
	# "network namespaces:" or "RATELIMIT_BIN").
	grep -E -- '--- SKIP|_test\.go:[0-9]+: (netem|network namespaces|RATELIMIT_BIN)' "$tmp/faults.log" || true
	sed -n '/^| fault/,/^[^|]/p' "$tmp/faults.log" | grep '^|'
} | tee "$out/faults.txt"
