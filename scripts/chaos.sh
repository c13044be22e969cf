#!/usr/bin/env bash
# `npm run chaos [-- args]`: the chaos run (bench/chaos/run.ts) with its own Redis, Postgres,
# workers and simulator. Whatever happens, every process it started is gone when this returns.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/node-env.sh
export EMBEDQ_CHAOS_PIDFILE="$(mktemp)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  # The harness records every child's pid; anything still alive (the harness was SIGKILLed) goes now.
  # (pid and start time, so a pid the system has since given to another process is left alone).
  while read -r p started; do
    [ -r "/proc/$p/stat" ] || continue
    now="$(sed -E 's/^.*\) //' "/proc/$p/stat" | awk '{print $20}')"
    [ "$now" = "$started" ] && kill -KILL "$p" 2>/dev/null || true
  done <"$EMBEDQ_CHAOS_PIDFILE"
  rm -f "$EMBEDQ_CHAOS_PIDFILE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
node bench/chaos/run.ts "$@" &
pid=$!
status=0
wait "$pid" || status=$?
pid=""
exit "$status"
