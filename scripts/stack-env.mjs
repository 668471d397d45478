// What each process of `make run` is given: only the secrets it needs, in its environment, and
// files only its user can read. scripts/stack.mjs uses it; scripts/stack-env.test.ts checks it.
import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, openSync } from 'node:fs';

/** The variable of InfluxDB's cloud user's password (scripts/influxdb.sh writes it into secrets.env). */
export const INFLUX_CLOUD_PASSWORD_ENV = 'MICHI_INFLUX_CLOUD_PASSWORD';
export const API_TOKEN_ENVS = ['MICHI_API_TOKEN_OPERATOR', 'MICHI_API_TOKEN_VIEWER'];

/** env:MICHI_GW_X_SECRET → MICHI_GW_X_SECRET. */
export const gatewaySecretEnv = (gw) => gw.credentialsRef.replace(/^env:/, '');
/** Each gateway's device key sits beside its secret: MICHI_GW_X_SECRET → MICHI_GW_X_DEVICE_KEY. */
export const deviceKeyEnv = (gw) => `${gatewaySecretEnv(gw).replace(/_SECRET$/, '')}_DEVICE_KEY`;

/**
 * The names of the secrets each process needs. The cloud: every gateway secret (it authenticates
 * gateways), its InfluxDB password and the API tokens. An edge: its gateway's secret (its uplink
 * login) and device key (its vehicles' logins). A simulator: its gateways' device keys, from which
 * it derives each vehicle's password.
 */
export function secretsNeeded(pilots) {
  const gateways = pilots.flatMap((p) => p.gateways);
  return {
    cloud: [...gateways.map(gatewaySecretEnv), INFLUX_CLOUD_PASSWORD_ENV, ...API_TOKEN_ENVS],
    edges: Object.fromEntries(gateways.map((gw) => [gw.id, [gatewaySecretEnv(gw), deviceKeyEnv(gw)]])),
    sims: Object.fromEntries(pilots.map((p) => [p.id, p.gateways.map(deviceKeyEnv)])),
  };
}

/**
 * The environment of one process: `inherited` without any secret of `secrets` (a shell that
 * sourced secrets.env must not pass them all on) and without `drop`, plus the named secrets.
 */
export function processEnv(inherited, secrets, names, drop = []) {
  const env = {};
  for (const [k, v] of Object.entries(inherited)) if (!(k in secrets) && !drop.includes(k) && v !== undefined) env[k] = v;
  for (const name of names) {
    if (secrets[name] === undefined) throw new Error(`secret ${name} is not in the secrets file`);
    env[name] = secrets[name];
  }
  return env;
}

/**
 * Starts `node args...` in the background with exactly `env` and umask 077 (what it writes, its
 * buffers and InfluxDB files alike, only its user can read), its output appended to `logFile`
 * (0600, also when an earlier run left it readable: logs name gateways, sources and clients).
 */
export function startProcess(args, env, logFile) {
  const log = openSync(logFile, 'a', 0o600);
  fchmodSync(log, 0o600);
  // A child inherits its parent's umask; the caller's own is restored at once.
  const umask = process.umask(0o077);
  try {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', log, log], detached: true });
    child.unref();
    return child;
  } finally {
    process.umask(umask);
    closeSync(log);
  }
}
