#!/usr/bin/env bash
# Run a command with the project's Node (>= 22.12) first on PATH and node_modules/.bin reachable.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/node-env.sh"
export PATH="$ROOT/node_modules/.bin:$PATH"
exec "$@"
