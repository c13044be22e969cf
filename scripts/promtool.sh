#!/usr/bin/env bash
# Makes Prometheus's promtool available for the test of deploy/ (test/unit/deploy-files.test.ts
# runs `promtool check rules` on the alerts and on every dashboard query). Tests never install
# anything, so scripts/test.sh calls this. Prints nothing when promtool is there.
#
#   $PROMTOOL, promtool on PATH, or .tools/prometheus/usr/bin/promtool → nothing to do;
#   apt-get available → `apt-get download prometheus` (no root needed: nothing is installed or
#                       started) and unpack its promtool into .tools/prometheus;
#   otherwise         → stop with a message saying what to install.
#
# Debian's package, because only the npm registry and Debian's archive are reachable here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.tools/prometheus"

die() { echo "promtool: $*" >&2; exit 1; }
[ -n "${PROMTOOL:-}" ] && { [ -x "$PROMTOOL" ] || die "PROMTOOL=$PROMTOOL is not an executable"; exit 0; }
command -v promtool >/dev/null 2>&1 && exit 0
[ -x "$DEST/usr/bin/promtool" ] && exit 0
command -v apt-get >/dev/null 2>&1 || die "promtool is missing and apt-get is not available: install Prometheus's promtool and set PROMTOOL to it"

[ -n "${EMBEDQ_SERVICES_QUIET:-}" ] || echo "promtool: unpacking Debian's prometheus package into .tools/prometheus (once)" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq prometheus >"$work/log" 2>&1) || { cat "$work/log" >&2; die "\`apt-get download prometheus\` failed (as root, \`apt-get update\` may be needed first)"; }
mkdir -p "$DEST"
dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
mkdir -p "$DEST/usr/bin"
cp "$work/x/usr/bin/promtool" "$DEST/usr/bin/promtool"
"$DEST/usr/bin/promtool" --version >/dev/null 2>&1 || die "the unpacked promtool does not run"
