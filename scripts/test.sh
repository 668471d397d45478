#!/usr/bin/env bash
# Every check michi has, in the order that fails fastest: types, lint, format, then the tests
# (unit, integration against real InfluxDB / brokers / gRPC, and browser tests in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .run
step() { printf '\n== %s\n' "$*"; }
t0=$(date +%s)

step "typecheck (tsc -b, dashboard, tests)"
npx tsc -b
npx tsc -p dashboard/tsconfig.json --noEmit
npx tsc -p tsconfig.spec.json

step "lint and format (eslint, prettier --check)"
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check . ; exit 1; }

step "build the dashboard (the browser tests load it)"
npm run --silent build -w @michi/dashboard >/dev/null

step "tests (vitest)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.run/vitest.json "$@" || status=$?
# A closing line CI can read in any language: 'N passed, N failed'.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".run/vitest.json", "utf8"));
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' || status=1
echo "make test took $(( $(date +%s) - t0 )) s"
exit $status
