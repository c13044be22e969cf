#!/usr/bin/env bash
# `npm run demo`: services up, schema migrated, this repository's own docs indexed with the offline
# `local` model, then two searches whose top hits you can check by eye.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/node-env.sh
[ -d node_modules/bullmq ] || { echo "demo: dependencies missing; run \`npm ci\` first" >&2; exit 1; }
bash scripts/services.sh up
embedq() { node bin/embedq "$@"; }
step() { printf '\n\033[1m$ embedq %s\033[0m\n' "$*"; }
step db migrate;   embedq db migrate
if embedq ingest --help >/dev/null 2>&1; then
  step ingest README.md docs --index demo_docs --chunk-tokens 128
  embedq ingest README.md docs --index demo_docs --chunk-tokens 128
  step search '"how do I start redis and postgres"' --index demo_docs -k 3
  embedq search "how do I start redis and postgres" --index demo_docs -k 3
  step search '"what happens to a chunk that was already embedded"' --index demo_docs -k 3
  embedq search "what happens to a chunk that was already embedded" --index demo_docs -k 3
fi
step status;       embedq status
