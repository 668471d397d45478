#!/usr/bin/env bash
# Installs a Go tool that michi's tests and docs use to check michi with code nobody here wrote,
# when it is missing (go install through the Go module proxy, into the cache k6 also lives in), and
# prints its path.
#   bash scripts/go-tool.sh grpcurl            grpcurl (fullstorydev), for reflection and Upload
#   bash scripts/go-tool.sh grpc-health-probe  the standard gRPC health probe
#   bash scripts/go-tool.sh nats-server        NATS with JetStream and MQTT, for the cluster mode (docs/scaling.md)
#   bash scripts/go-tool.sh promtool           Prometheus's promtool, to check the /metrics texts (a larger build: ~3 min)
set -euo pipefail

TOOLS_DIR="${MICHI_TOOLS_DIR:-$HOME/.cache/michi/bin}"
declare -A MODULE=(
  [grpcurl]=github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3
  [grpc-health-probe]=github.com/grpc-ecosystem/grpc-health-probe@v0.4.63
  [nats-server]=github.com/nats-io/nats-server/v2@v2.15.3
  [promtool]=github.com/prometheus/prometheus/cmd/promtool@v0.316.0
)
tool=${1:-}
[ -n "$tool" ] && [ -n "${MODULE[$tool]:-}" ] || {
  echo "usage: bash scripts/go-tool.sh {${!MODULE[*]}}" >&2
  exit 2
}
bin="$TOOLS_DIR/$tool"
# A marker per version, so that a changed pin builds again.
stamp="$TOOLS_DIR/.$tool.${MODULE[$tool]##*@}"
if [ ! -x "$bin" ] || [ ! -e "$stamp" ]; then
  go=go
  command -v go >/dev/null 2>&1 || go=/usr/local/go/bin/go
  command -v "$go" >/dev/null 2>&1 || {
    echo "go-tool: $tool is missing and there is no Go toolchain to build it (looked for go on PATH and /usr/local/go/bin/go)" >&2
    exit 1
  }
  mkdir -p "$TOOLS_DIR"
  echo "go-tool: building ${MODULE[$tool]} into $TOOLS_DIR (once; a minute or two)" >&2
  GOBIN="$TOOLS_DIR" GOFLAGS=-buildvcs=false "$go" install "${MODULE[$tool]}" >&2
  touch "$stamp"
fi
echo "$bin"
