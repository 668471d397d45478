# Sourced by the scripts that set up, start and stop things (`source scripts/say.sh NAME`): their
# messages, each line prefixed with NAME, errors on stderr.
# shellcheck shell=bash

SAY_NAME=$1
say() { printf '%s: %s\n' "$SAY_NAME" "$*"; }
die() {
  printf '%s: error: %s\n' "$SAY_NAME" "$*" >&2
  exit 1
}
