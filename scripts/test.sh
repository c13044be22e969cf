#!/usr/bin/env bash
# The test command (README, .ci/run): services up, then every test with vitest.
# Prints a closing line "N passed, N failed" from vitest's JSON report.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/node-env.sh
export PATH="$ROOT/node_modules/.bin:$PATH"
[ -d node_modules/vitest ] || { echo "test: dependencies missing; run \`npm ci\` first" >&2; exit 1; }
bash scripts/services.sh up
bash scripts/chromium.sh   # the dashboard e2e test drives Debian's Chromium; fails loudly if it cannot be installed
bash scripts/promtool.sh   # test/integration/deploy-files.test.ts checks deploy/ with it; fails loudly if it cannot be fetched
report="$(mktemp)"
status=0
vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0)} failed`);
' "$report" || echo "0 passed, 1 failed"
rm -f "$report"
exit $status
