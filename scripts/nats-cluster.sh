#!/usr/bin/env bash
# The NATS mode of docs/scaling.md on one machine, for trying it: InfluxDB (scripts/influxdb.sh), a
# three-node NATS cluster whose configurations `michi-ingest-worker --nats-config` writes from the
# seeds, and two ingest workers sharing its durable consumer. Gateways (edge agents) publish to any
# node's MQTT listener. PIDs and logs in .run/, JetStream in .data/nats/, configs in .run/nats/.
#   Usage: scripts/nats-cluster.sh start|stop|status
#   nodes n1..n3: clients 4222-4224, MQTT 1893-1895, routes 6222-6224, monitoring 8222-8224 (127.0.0.1)
#   workers w1, w2: /metrics and /health on 9465, 9466
# Secrets (gateway secrets as `make run` makes them, the workers' NATS password) are in
# .run/secrets.env (0600), never printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
umask 077

RUN_DIR=$ROOT/.run
CONF_DIR=$RUN_DIR/nats
DATA_DIR=$ROOT/.data/nats
SECRETS_FILE=$RUN_DIR/secrets.env
NODES=(n1 n2 n3)
WORKERS=(w1 w2)
START_TIMEOUT_S=60
STOP_TIMEOUT_S=10

# shellcheck source=scripts/say.sh
source scripts/say.sh nats-cluster

# shellcheck source=scripts/secrets-file.sh
source scripts/secrets-file.sh

running() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

write_config() {
  mkdir -p "$CONF_DIR" "$DATA_DIR"
  local servers='' nodes='' i
  for i in 0 1 2; do
    servers+="nats://127.0.0.1:$((4222 + i)), "
    nodes+="      - { name: ${NODES[$i]}, host: 127.0.0.1, clientPort: $((4222 + i)), mqttPort: $((1893 + i)), clusterPort: $((6222 + i)), httpPort: $((8222 + i)) }"$'\n'
  done
  cat >"$CONF_DIR/cloud.yaml" <<EOF
# written by scripts/nats-cluster.sh
seedsDir: seeds
influx: { url: 'http://127.0.0.1:${MICHI_INFLUX_PORT:-8086}', database: michi, username: michi_cloud, passwordEnv: MICHI_INFLUX_CLOUD_PASSWORD }
worker:
  mode: nats
  username: michi-ingest
  passwordEnv: MICHI_NATS_WORKER_PASSWORD
  nats:
    servers: [${servers%, }]
    cluster:
      name: michi-local
      storeDir: $DATA_DIR
      nodes:
$nodes
EOF
}

# The environment the generator and the workers get: the secrets they need, nothing else from the file.
worker_env() {
  local names name
  names=$(grep -ho '"credentialsRef": *"env:[A-Z0-9_]*"' seeds/*.json | sed 's/.*env://; s/"$//' | sort -u)
  for name in $names; do printf '%s=%s\n' "$name" "$(secret "$name")"; done
  printf 'MICHI_NATS_WORKER_PASSWORD=%s\n' "$(secret MICHI_NATS_WORKER_PASSWORD)"
  printf 'MICHI_INFLUX_CLOUD_PASSWORD=%s\n' "$(secret MICHI_INFLUX_CLOUD_PASSWORD)"
}

# Runs michi-ingest-worker with the secrets of the env file in its environment (not on a command
# line, where any local user could read them in ps). Call it in a subshell, `( worker ... )`: it
# exports the secrets and replaces the shell by the worker, so that `$!` is the worker's PID.
worker() {
  local env_file=$1
  shift
  set -a
  # shellcheck disable=SC1090
  . "$env_file"
  set +a
  exec node --conditions=michi-src --import tsx cloud/src/worker-main.ts --config "$CONF_DIR/cloud.yaml" "$@"
}

wait_for() {
  local what=$1 url=$2 deadline=$((SECONDS + START_TIMEOUT_S))
  until curl -sf -o /dev/null "$url"; do
    ((SECONDS < deadline)) || die "$what did not become healthy within ${START_TIMEOUT_S}s (see its log in $RUN_DIR)"
    sleep 0.3
  done
}

start() {
  bash scripts/influxdb.sh start
  local nats_server env_file i
  nats_server=$(bash scripts/go-tool.sh nats-server)
  write_config
  env_file=$CONF_DIR/env
  worker_env >"$env_file"
  (worker "$env_file" --nats-config "$CONF_DIR") >/dev/null
  for i in 0 1 2; do
    local n=${NODES[$i]}
    if running "nats-$n"; then
      say "$n already running"
      continue
    fi
    nohup "$nats_server" -c "$CONF_DIR/$n.conf" >"$RUN_DIR/nats-$n.log" 2>&1 &
    echo $! >"$RUN_DIR/nats-$n.pid"
  done
  for i in 0 1 2; do wait_for "nats-server ${NODES[$i]}" "http://127.0.0.1:$((8222 + i))/healthz"; done
  say "cluster up: MQTT on 127.0.0.1:1893, :1894, :1895 (point an edge's uplink.url at any of them)"
  for i in 0 1; do
    local w=${WORKERS[$i]}
    if running "ingest-$w"; then
      say "worker $w already running"
      continue
    fi
    (
      export MICHI_CLOUD_WORKER__CLIENT_ID=$w MICHI_CLOUD_WORKER__METRICS__PORT=$((9465 + i))
      worker "$env_file"
    ) >"$RUN_DIR/ingest-$w.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/ingest-$w.pid"
  done
  for i in 0 1; do wait_for "worker ${WORKERS[$i]}" "http://127.0.0.1:$((9465 + i))/health"; done
  rm -f "$env_file"
  say "workers up: http://127.0.0.1:9465/health and :9466/health"
}

stop_one() {
  local name=$1 pid deadline
  [ -f "$RUN_DIR/$name.pid" ] || return 0
  pid=$(cat "$RUN_DIR/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    deadline=$((SECONDS + STOP_TIMEOUT_S))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    say "stopped $name"
  fi
  rm -f "$RUN_DIR/$name.pid"
}

stop() {
  # Workers first: they ack what they have written and hand the rest back.
  for w in "${WORKERS[@]}"; do stop_one "ingest-$w"; done
  for n in "${NODES[@]}"; do stop_one "nats-$n"; done
  say "InfluxDB keeps running; scripts/influxdb.sh stop (or make stop) stops it"
}

status() {
  for name in "${NODES[@]/#/nats-}" "${WORKERS[@]/#/ingest-}"; do
    if running "$name"; then say "$name running (pid $(cat "$RUN_DIR/$name.pid"))"; else say "$name stopped"; fi
  done
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: bash scripts/nats-cluster.sh start|stop|status" >&2
    exit 2
    ;;
esac
