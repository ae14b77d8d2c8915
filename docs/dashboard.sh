#!/usr/bin/env bash
# Writes docs/dashboard.png: the control plane's dashboard (/ui/) as the
# fleet test leaves it (a serve fed over xDS, a node that NACKs, a key
# throttled), taken by headless Chromium. Needs redis-server and chromium,
# which test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
FLOODGATE_DASHBOARD_PNG="$PWD/docs/dashboard.png" \
	go test -count=1 -run '^TestDashboardOnTheControlPlaneShowsTheFleet$' ./cmd/floodgate/
echo "wrote docs/dashboard.png" >&2
