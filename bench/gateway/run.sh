#!/usr/bin/env bash
# `npm run bench:gateway -- [--seconds 5]`: services up, bench/gateway's own dependencies
# (autocannon, @portkey-ai/gateway) installed on first use, then bench/gateway/run.ts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source scripts/node-env.sh
bash scripts/services.sh up
if [ ! -d bench/gateway/node_modules ] || [ bench/gateway/package-lock.json -nt bench/gateway/node_modules/.package-lock.json ]; then
  echo "bench:gateway: installing autocannon and Portkey's gateway into bench/gateway/node_modules" >&2
  npm ci --prefix bench/gateway --no-audit --no-fund --loglevel=error
fi
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
uptime >&2
exec node bench/gateway/run.ts "$@"
