#!/usr/bin/env bash
# `make run`: builds, starts InfluxDB and the demo stack, prints the dashboard URL, then stays in the
# foreground until Ctrl-C (which stops everything). MICHI_DETACH=1 returns at once instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ls .run/*.pid >/dev/null 2>&1; then
  echo "run: stopping what an earlier make run left running"
  bash scripts/stop.sh
fi
echo "run: building"
npm run --silent build >/dev/null
bash scripts/influxdb.sh start
trap 'echo; bash scripts/stop.sh; exit 0' INT TERM
node scripts/stack.mjs || { bash scripts/stop.sh; exit 1; }
if [ "${MICHI_DETACH:-}" = 1 ]; then exit 0; fi
echo "Press Ctrl-C to stop."
while sleep 3600; do :; done
