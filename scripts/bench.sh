#!/usr/bin/env bash
# `npm run bench:<name> -- [args]`: services up, then bench/<name>.ts with the project's Node.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/node-env.sh
name="$1"; shift
bash scripts/services.sh up
exec node "bench/$name.ts" "$@"
