#!/usr/bin/env bash
# The InfluxDB 1.x of `make run`: Debian's influxd with a config of our own, data in .data/influxdb,
# PID and log in .run/. Usage: scripts/influxdb.sh start|stop|status
# Authentication is on: users michi_admin (admin), michi_cloud (WRITE and READ on the database, what
# the cloud logs in as) and michi_reader (READ only, for tools such as `michi-sim record --influx`),
# their passwords made at the first start into .run/secrets.env (0600) and never printed.
#   MICHI_INFLUX_PORT      HTTP API port (default 8086), bound to 127.0.0.1 only
#   MICHI_INFLUX_RPC_PORT  backup/restore RPC port (default 8089; influxd's own 8088 moved aside)
#   MICHI_INFLUX_DB        database created on start (default michi)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# Data, log and secrets readable by this user only (influxd inherits it).
umask 077

PORT=${MICHI_INFLUX_PORT:-8086}
RPC_PORT=${MICHI_INFLUX_RPC_PORT:-8089}
DATABASE=${MICHI_INFLUX_DB:-michi}
INFLUXD=/usr/bin/influxd
DATA_DIR=$ROOT/.data/influxdb
CONFIG=$DATA_DIR/influxdb.conf
RUN_DIR=$ROOT/.run
PID_FILE=$RUN_DIR/influxdb.pid
LOG_FILE=$RUN_DIR/influxdb.log
SECRETS_FILE=$RUN_DIR/secrets.env
ADMIN_USER=michi_admin
URL=http://127.0.0.1:$PORT
START_TIMEOUT_S=30
STOP_TIMEOUT_S=10

# shellcheck source=scripts/say.sh
source scripts/say.sh influxdb

# The settings (shared with the tests' InfluxDB) are in scripts/influxdb.conf.in.
write_config() {
  mkdir -p "$DATA_DIR/meta" "$DATA_DIR/data" "$DATA_DIR/wal" "$RUN_DIR"
  # An earlier version left these world-readable.
  chmod -R go-rwx "$DATA_DIR" "$RUN_DIR"
  sed -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@HTTP_PORT@|$PORT|g" -e "s|@RPC_PORT@|$RPC_PORT|g" \
    -e "s|@AUTH_ENABLED@|true|g" scripts/influxdb.conf.in >"$CONFIG"
}

# shellcheck source=scripts/secrets-file.sh
source scripts/secrets-file.sh

# Runs InfluxQL read from stdin; prints the answer. With a user, the credentials go to curl in a
# config on a pipe, not on its command line, where any local user could read them in ps.
influxql() {
  local user=${1:-} password=${2:-}
  if [ -n "$user" ]; then
    curl -sS --max-time 10 -K <(printf 'user = "%s:%s"\n' "$user" "$password") -X POST "$URL/query" --data-urlencode q@-
  else
    curl -sS --max-time 10 -X POST "$URL/query" --data-urlencode q@-
  fi
}

# The PID in our pid file, if that process is alive and is an influxd with our config (a PID
# reused by another process after a crash is not ours).
our_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "influxd -config $CONFIG" || return 1
  echo "$pid"
}

# Alive and not a zombie (an exited child of a shell that is gone may linger unreaped).
alive() {
  local state
  state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

ping_ok() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL/ping" 2>/dev/null)" = 204 ]
}

port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

log_tail() {
  printf -- '--- last lines of %s ---\n' "${LOG_FILE#"$ROOT"/}" >&2
  # only what this start logged: from the last "===" marker on
  awk '/^=== /{ n = 0 } { line[n++] = $0 } END { for (i = (n > 20 ? n - 20 : 0); i < n; i++) print line[i] }' \
    "$LOG_FILE" >&2 || true
}

# The admin (created if InfluxDB has no user yet: the one statement it then takes anonymously),
# the database, and the cloud's and the reader's users with their passwords and privileges, made
# to match the secrets file on every start.
create_users_and_database() {
  local admin_pw cloud_pw reader_pw answer user
  admin_pw=$(secret MICHI_INFLUX_ADMIN_PASSWORD)
  cloud_pw=$(secret MICHI_INFLUX_CLOUD_PASSWORD)
  reader_pw=$(secret MICHI_INFLUX_READER_PASSWORD)
  answer=$(echo 'SHOW USERS' | influxql "$ADMIN_USER" "$admin_pw") || die "could not reach $URL/query"
  case $answer in
  *'create admin user first'*)
    answer=$(echo "CREATE USER $ADMIN_USER WITH PASSWORD '$admin_pw' WITH ALL PRIVILEGES" | influxql) ||
      die "could not reach $URL/query"
    case $answer in *'"error"'*) die "creating the admin user $ADMIN_USER failed: $answer" ;; esac
    ;;
  *'"error"'*)
    die "InfluxDB refused $ADMIN_USER with the password in $SECRETS_FILE ($answer): was the file removed since" \
      ".data/influxdb was made? Restore it, or start afresh: scripts/influxdb.sh stop && rm -rf .data/influxdb"
    ;;
  esac
  for user in michi_cloud michi_reader; do
    # CREATE USER fails for an existing user; SET PASSWORD below brings it in line with the file.
    echo "CREATE USER $user WITH PASSWORD 'x'" | influxql "$ADMIN_USER" "$admin_pw" >/dev/null || true
  done
  answer=$(
    influxql "$ADMIN_USER" "$admin_pw" <<QUERY
CREATE DATABASE "$DATABASE";
SET PASSWORD FOR michi_cloud = '$cloud_pw';
SET PASSWORD FOR michi_reader = '$reader_pw';
REVOKE ALL PRIVILEGES FROM michi_cloud;
REVOKE ALL PRIVILEGES FROM michi_reader;
GRANT ALL ON "$DATABASE" TO michi_cloud;
GRANT READ ON "$DATABASE" TO michi_reader
QUERY
  ) || die "could not reach $URL/query to create database $DATABASE and its users"
  case $answer in
  *'"error"'*) die "creating database $DATABASE and its users failed: $answer" ;;
  esac
}

start() {
  command -v curl >/dev/null || die "curl not found: run scripts/setup.sh"
  [ -x "$INFLUXD" ] || die "$INFLUXD not found: run scripts/setup.sh (Debian package influxdb)"
  local pid
  if pid=$(our_pid); then
    if ping_ok; then
      create_users_and_database
      say "already running (pid $pid) at $URL"
      return 0
    fi
    die "pid $pid is alive but $URL/ping does not answer; try: scripts/influxdb.sh stop && scripts/influxdb.sh start"
  fi
  rm -f "$PID_FILE"
  local port
  for port in "$PORT" "$RPC_PORT"; do
    if port_taken "$port"; then
      die "port $port on 127.0.0.1 is taken by another process (Debian's influxdb service? try:" \
        "systemctl disable --now influxdb); or choose other ports with MICHI_INFLUX_PORT / MICHI_INFLUX_RPC_PORT"
    fi
  done

  write_config
  printf '=== %s: %s -config %s\n' "$(date -Is)" "$INFLUXD" "$CONFIG" >>"$LOG_FILE"
  local started_ms
  started_ms=$(date +%s%3N)
  # setsid: own session, so a Ctrl-C in the terminal that ran `make run` does not reach it.
  # Not a process group leader here, so setsid execs in place and $! is influxd's PID.
  nohup setsid "$INFLUXD" -config "$CONFIG" </dev/null >>"$LOG_FILE" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT_S))
  until ping_ok; do
    if ! alive "$pid"; then
      rm -f "$PID_FILE"
      log_tail
      die "influxd (pid $pid) exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      log_tail
      die "influxd (pid $pid) did not answer $URL/ping within ${START_TIMEOUT_S}s; it is still running, stop it with: scripts/influxdb.sh stop"
    fi
    sleep 0.1
  done
  create_users_and_database
  say "started (pid $pid) at $URL in $(($(date +%s%3N) - started_ms)) ms; database $DATABASE, data in .data/influxdb, log .run/influxdb.log"
  say "authentication on: users $ADMIN_USER, michi_cloud (write+read), michi_reader (read); passwords in $SECRETS_FILE"
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    if [ -f "$PID_FILE" ]; then
      rm -f "$PID_FILE"
      say "not running (removed a stale pid file)"
    else
      say "not running"
    fi
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    say "pid $pid ignored SIGTERM for ${STOP_TIMEOUT_S}s: sent SIGKILL"
  fi
  rm -f "$PID_FILE"
  say "stopped (pid $pid, was $URL)"
}

status() {
  local pid
  if ! pid=$(our_pid); then
    say "not running"
    return 3 # LSB: program is not running
  fi
  if ping_ok; then
    say "running (pid $pid) at $URL"
  else
    say "pid $pid is alive but $URL/ping does not answer"
    return 1
  fi
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
