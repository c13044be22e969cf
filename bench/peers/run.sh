#!/usr/bin/env bash
# `npm run bench:peers -- [args]`: services up (the project's own script), bench/peers' own
# dependencies installed on first use (from its lockfile), then bench/peers/run.ts with the
# project's Node (>= 22.12; fetched into .tools/ when the system's is older).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source bench/setup.sh
bench_setup bench/peers "the peers (LangChain.js, LlamaIndex.TS)"
if [ ! -x /usr/bin/time ]; then
  # GNU time reads each system's peak RSS; Debian ships it as the package "time".
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench:peers: installing GNU time (apt-get install time) for peak RSS" >&2
    apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
  else
    echo "bench:peers: /usr/bin/time (GNU time) is missing; install the package \"time\" and retry" >&2
    exit 1
  fi
fi
exec node bench/peers/run.ts "$@"
