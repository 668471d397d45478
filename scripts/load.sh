#!/usr/bin/env bash
# `make load`: k6 load tests of the ingest path and the API (simulators/k6/). Installs k6 when it is
# missing (go install through the Go module proxy, into a cache outside the work tree so repeated
# runs and fresh clones reuse it), starts its own stack on free ports (InfluxDB, cloud with gRPC,
# one edge per gateway of a pilot scaled to many vehicles), runs every scenario, and writes
# .run/load/summary.json and .run/load/summary.html.
#   bash scripts/load.sh               the full load run
#   bash scripts/load.sh --install-k6  only make sure k6 is installed; prints its path
#   MICHI_LOAD_SMOKE=1 bash scripts/load.sh   a short run of every script (what make test does)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

K6_VERSION=v1.8.1 # the k6 release the module proxy serves here; scripts use k6/websockets and k6/net/grpc
TOOLS_DIR="${MICHI_TOOLS_DIR:-$HOME/.cache/michi/bin}"
K6="$TOOLS_DIR/k6"

install_k6() {
  if [ -x "$K6" ] && "$K6" version 2>/dev/null | grep -q "k6 $K6_VERSION "; then return 0; fi
  local go=go
  command -v go >/dev/null 2>&1 || go=/usr/local/go/bin/go
  if ! command -v "$go" >/dev/null 2>&1; then
    echo "load: k6 is missing and there is no Go toolchain to build it (looked for go on PATH and /usr/local/go/bin/go)" >&2
    return 1
  fi
  mkdir -p "$TOOLS_DIR"
  echo "load: building k6 $K6_VERSION with $("$go" version | cut -d' ' -f3) into $TOOLS_DIR (once; a few minutes)" >&2
  GOBIN="$TOOLS_DIR" GOFLAGS=-buildvcs=false "$go" install "go.k6.io/k6@$K6_VERSION" >&2
  "$K6" version >&2
}

if [ "${1:-}" = "--install-k6" ]; then
  install_k6
  echo "$K6"
  exit 0
fi

install_k6
MICHI_K6="$K6" node --conditions=michi-src --import tsx simulators/test/load-run.ts "$@"
