#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build, test and run michi: the Debian packages of
# the real infrastructure (InfluxDB 1.x, Mosquitto, Chromium, curl) and the npm packages.
# Idempotent, and quick when everything is there: it only looks, and prints nothing.
#
# We run our own InfluxDB and Mosquitto (scripts/influxdb.sh, scripts/test-support/), so the
# services the Debian packages bring along must not be left running or enabled: they would hold
# ports 8086/8088 and 1883.
set -euo pipefail

# fonts-noto-cjk: Chromium needs it to draw the Japanese dashboard in screenshots (text assertions pass without).
DEBIAN_PACKAGES=(influxdb mosquitto mosquitto-clients chromium fonts-noto-cjk curl)
# package -> the config its own service starts the daemon with (how we recognise that daemon)
declare -A SERVICE_CONFIG=([influxdb]=/etc/influxdb/influxdb.conf [mosquitto]=/etc/mosquitto/mosquitto.conf)
declare -A SERVICE_DAEMON=([influxdb]=influxd [mosquitto]=mosquitto)
NODE_MIN=20.19
NPM_STAMP=node_modules/.michi-installed

# shellcheck source=scripts/say.sh
source "$(dirname "${BASH_SOURCE[0]}")/say.sh" setup

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

check_node() {
  command -v node >/dev/null || die "node not found: install Node.js >= $NODE_MIN (https://nodejs.org), Debian's nodejs is too old"
  local version major minor
  version=$(node --version) # v20.19.0
  version=${version#v}
  IFS=. read -r major minor _ <<<"$version"
  if ((major < ${NODE_MIN%.*} || (major == ${NODE_MIN%.*} && minor < ${NODE_MIN#*.}))); then
    die "node $version is too old: michi needs Node.js >= $NODE_MIN (found $(command -v node))"
  fi
}

# PIDs of a package's daemon started from the package's own /etc config (by its systemd unit or
# init script), never one started by us or a test.
debian_daemon_pids() {
  local pkg=$1 pid cmdline
  for pid in $(pgrep -x "${SERVICE_DAEMON[$pkg]}" || true); do
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
    case " $cmdline " in *" ${SERVICE_CONFIG[$pkg]} "*) echo "$pid" ;; esac
  done
}

# Stops and disables the service a package installation brought along.
quiet_debian_service() {
  local pkg=$1 pids
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now --quiet "$pkg.service" 2>/dev/null || true
  elif command -v update-rc.d >/dev/null; then
    as_root update-rc.d "$pkg" disable >/dev/null 2>&1 || true
  fi
  pids=$(debian_daemon_pids "$pkg")
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086 # one PID per word
    as_root kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 50); do
      [ -z "$(debian_daemon_pids "$pkg")" ] && break
      sleep 0.1
    done
    pids=$(debian_daemon_pids "$pkg")
    # shellcheck disable=SC2086
    [ -z "$pids" ] || as_root kill -KILL $pids 2>/dev/null || true
  fi
  say "stopped and disabled the $pkg service the Debian package started (michi runs its own)"
}

install_debian_packages() {
  local missing=() pkg status
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$pkg")
  done

  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} yourself (michi expects Debian bookworm)"
    for pkg in "${missing[@]}"; do say "installing $pkg (Debian package)"; done

    # Keep package scripts from starting services at all: policy-rc.d answering 101 ("action
    # forbidden") is honoured by invoke-rc.d and deb-systemd-invoke. Only if none is in place.
    local policy=/usr/sbin/policy-rc.d own_policy=
    if [ ! -e "$policy" ]; then
      as_root sh -c "printf '#!/bin/sh\n# temporary, from michi scripts/setup.sh\nexit 101\n' >$policy && chmod 755 $policy"
      own_policy=1
      trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
    fi

    local log
    log=$(mktemp "${TMPDIR:-/tmp}/michi-setup-apt.XXXXXX")
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 ||
      ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=120 "${missing[@]}" >>"$log" 2>&1; then
      tail -n 25 "$log" >&2
      die "apt-get failed (full log: $log)"
    fi
    rm -f "$log"

    if [ -n "$own_policy" ]; then
      as_root rm -f "$policy"
      trap - EXIT
    fi
    for pkg in "${missing[@]}"; do
      if [ -n "${SERVICE_CONFIG[$pkg]:-}" ]; then quiet_debian_service "$pkg"; fi
    done
  fi

  # A service started earlier, not by this script: leave it, but say why `make run` may clash.
  for pkg in "${!SERVICE_CONFIG[@]}"; do
    if [ -n "$(debian_daemon_pids "$pkg")" ]; then
      say "warning: Debian's $pkg service is running and holds its default ports; stop it with:" \
        "sudo systemctl disable --now $pkg  (or: sudo service $pkg stop)"
    fi
  done
}

install_npm_packages() {
  if [ -f "$NPM_STAMP" ] && ! [ package-lock.json -nt "$NPM_STAMP" ]; then
    return
  fi
  # node_modules installed by npm itself (npm writes its hidden lockfile last): adopt it.
  if [ ! -f "$NPM_STAMP" ] && [ -f node_modules/.package-lock.json ] &&
    ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
    touch "$NPM_STAMP"
    return
  fi
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$NPM_STAMP"
}

main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  check_node
  install_debian_packages
  install_npm_packages
}

# Sourcing the file (for a test of one function) does not run it.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
