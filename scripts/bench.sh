#!/usr/bin/env bash
# `make bench`: every benchmark in bench/ (bench/*.bench.ts), one after the other, each printing its
# results as a markdown table with the ratios against its own same-run baseline. Results for the
# record go into docs/benchmarks.md with the command that produced them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npx tsc -b
npm run --silent build -w @michi/dashboard >/dev/null
shopt -s nullglob
benches=(bench/*.bench.ts)
if [ $# -gt 0 ]; then benches=("$@"); fi
[ ${#benches[@]} -gt 0 ] || { echo "bench: no benchmarks in bench/"; exit 0; }
for b in "${benches[@]}"; do
  echo "== $b"
  node --conditions=michi-src --import tsx "$b"
done
