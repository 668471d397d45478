#!/usr/bin/env bash
# Back to a fresh checkout minus node_modules: stops what `make run` started, then removes its data
# (.data/), PIDs and logs (.run/), the build output (*/dist, which holds tsc's .tsbuildinfo) and
# the npm install stamp, so the next `make setup` runs `npm ci` again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/stop.sh

shopt -s nullglob
removed=()
for path in .data .run */dist node_modules/.michi-installed; do
  [ "${path%%/*}" = node_modules ] && [ "$path" != node_modules/.michi-installed ] && continue
  if [ -e "$path" ]; then
    rm -rf -- "$path"
    removed+=("$path")
  fi
done
if [ ${#removed[@]} -gt 0 ]; then
  printf 'clean: removed %s\n' "${removed[*]}"
else
  printf 'clean: nothing to remove\n'
fi
