#!/usr/bin/env bash
# `npm run bench:gateway -- [--seconds 5]`: services up, bench/gateway's own dependencies
# (autocannon, @portkey-ai/gateway) installed on first use, then bench/gateway/run.ts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source bench/setup.sh
bench_setup bench/gateway "autocannon and Portkey's gateway"
uptime >&2
exec node bench/gateway/run.ts "$@"
