#!/usr/bin/env bash
# Makes Debian's Chromium available for the dashboard e2e test (test/e2e/dashboard.test.ts drives
# it with playwright-core). Tests never install system packages, so scripts/test.sh calls this.
#
#   /usr/bin/chromium (or $CHROMIUM_PATH) exists → nothing to do;
#   root with apt-get                           → apt-get install chromium, quietly;
#   otherwise                                   → stop with a message saying what to install.
#
# Debian's package is used instead of Playwright's own browser download because only the npm
# registry and Debian's archive are reachable here (and on CI).
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0

die() { echo "chromium: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "$CHROMIUM is missing and installing it needs root: run \`sudo apt-get install chromium\` (or set CHROMIUM_PATH to a Chromium binary)"
command -v apt-get >/dev/null 2>&1 || die "$CHROMIUM is missing and apt-get is not available: install Chromium and set CHROMIUM_PATH to its binary"

[ -n "${EMBEDQ_SERVICES_QUIET:-}" ] || echo "chromium: installing Debian's chromium with apt-get (once)" >&2
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# apt's chatter goes to a log that is shown only when a step fails.
run() { "$@" >"$log" 2>&1 || { cat "$log" >&2; die "\`$*\` failed"; }; }
run apt-get update -qq
# Recommends are skipped (sandbox helper, printing, desktop services): headless rendering needs
# none of them. fonts-liberation gives the page real glyphs in screenshots.
run apt-get install -y -qq --no-install-recommends chromium fonts-liberation
[ -x "$CHROMIUM" ] || die "apt-get installed chromium but $CHROMIUM is still missing"
