#!/usr/bin/env bash
# Stops everything `make run` started: each .run/<name>.pid, SIGTERM, then SIGKILL after 10 s.
# Our processes go first, InfluxDB and Mosquitto last, so that ours can still flush into them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUN_DIR=.run
STOP_TIMEOUT_S=10
INFRA_NAMES=' influxdb mosquitto '

say() { printf 'stop: %s\n' "$*"; }

BTIME=$(awk '/^btime/ { print $2 }' /proc/stat)
CLK_TCK=$(getconf CLK_TCK)

# Alive and not a zombie.
alive() {
  local state
  state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# When the process started, in seconds since the epoch (field 22 of /proc/PID/stat, in clock
# ticks since boot; the fields are counted after the command name, which may hold spaces).
started_at() {
  local stat
  stat=$(<"/proc/$1/stat") || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $stat
  echo $((BTIME + ${20} / CLK_TCK))
}

# A PID is ours if the process is alive and started no later than its pid file was written: after
# a crash and a reboot the same number may belong to someone else, who started later.
ours() {
  local pid=$1 file=$2 started
  alive "$pid" || return 1
  started=$(started_at "$pid") || return 1
  ((started <= $(stat -c %Y "$file") + 2))
}

# Signal a whole process group when the PID leads one (a `setsid`-started wrapper and its
# children, e.g. npx -> node), else the process alone.
signal() {
  local sig=$1 pid=$2 pgid
  pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') || pgid=
  if [ "$pgid" = "$pid" ] && [ "$pgid" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]; then
    kill "-$sig" -- "-$pid" 2>/dev/null || true
  else
    kill "-$sig" "$pid" 2>/dev/null || true
  fi
}

# Stops the processes of the given pid files together and removes the files.
stop_all() {
  local file name pid i
  local -a files=() pids=() names=()
  for file in "$@"; do
    name=$(basename "$file" .pid)
    pid=$(<"$file")
    if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid" "$file"; then
      signal TERM "$pid"
      files+=("$file") pids+=("$pid") names+=("$name")
    else
      rm -f "$file"
      say "$name was not running (pid $pid gone or now another process's; removed $file)"
    fi
  done
  [ ${#pids[@]} -gt 0 ] || return 0

  for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
    local running=0
    for pid in "${pids[@]}"; do alive "$pid" && running=1; done
    ((running)) || break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    if alive "$pid"; then
      signal KILL "$pid"
      say "killed ${names[$i]} (pid $pid): still running ${STOP_TIMEOUT_S}s after SIGTERM"
    else
      say "stopped ${names[$i]} (pid $pid)"
    fi
    rm -f "${files[$i]}"
  done
}

shopt -s nullglob
# Against the flow of data: simulators, then edge agents (they keep their buffers), then the cloud
# (it finishes the writes in flight), then InfluxDB and Mosquitto.
sims=() edges=() apps=() infra=()
for file in "$RUN_DIR"/*.pid; do
  name=$(basename "$file" .pid)
  if [[ $INFRA_NAMES == *" $name "* ]]; then infra+=("$file")
  elif [[ $name == sim-* ]]; then sims+=("$file")
  elif [[ $name == edge-* ]]; then edges+=("$file")
  else apps+=("$file"); fi
done
if [ $((${#sims[@]} + ${#edges[@]} + ${#apps[@]} + ${#infra[@]})) -eq 0 ]; then
  say "nothing to stop (no pid files in $RUN_DIR/)"
  exit 0
fi
stop_all "${sims[@]}"
stop_all "${edges[@]}"
stop_all "${apps[@]}"
stop_all "${infra[@]}"
