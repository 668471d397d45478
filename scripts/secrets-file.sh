# Sourced by scripts/influxdb.sh and scripts/nats-cluster.sh, which set SECRETS_FILE (.run/secrets.env)
# and umask 077 first: the secrets `make run` uses, made once and kept there, never printed.
# shellcheck shell=bash

# The value of NAME in the secrets file, made (24 random bytes, base64url) and added when missing.
secret() {
  local name=$1 value
  value=$(sed -n "s/^$name=//p" "$SECRETS_FILE" 2>/dev/null | tail -n 1)
  if [ -z "$value" ]; then
    value=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    printf '%s=%s\n' "$name" "$value" >>"$SECRETS_FILE"
  fi
  chmod 600 "$SECRETS_FILE"
  printf '%s' "$value"
}
