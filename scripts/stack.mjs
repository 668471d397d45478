// Starts the demo stack that `make run` promises: the cloud, one edge agent per seeded gateway and
// one simulator per pilot, each in the background with its PID in .run/<name>.pid and its log in
// .run/<name>.log (scripts/stop.sh stops them). InfluxDB is started before this by influxdb.sh.
// Gateway secrets and device keys are made once, kept in .run/secrets.env (mode 0600, git-ignored;
// influxdb.sh puts InfluxDB's passwords there), and handed to the processes through their
// environment, never through command lines or logs: each process only the ones it needs
// (scripts/stack-env.mjs). Files are made with umask 077.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadSeeds } from '@michi/proto';
import { RouteGeometry } from '@michi/simulators';
import { INFLUX_CLOUD_PASSWORD_ENV, deviceKeyEnv, gatewaySecretEnv, processEnv, secretsNeeded, startProcess } from './stack-env.mjs';

const RUN = '.run';
const env = process.env;
const host = '127.0.0.1';
const httpPort = Number(env.MICHI_HTTP_PORT ?? 8080);
const cloudMqttPort = Number(env.MICHI_MQTT_PORT ?? 1883);
const influxUrl = `http://127.0.0.1:${env.MICHI_INFLUX_PORT ?? 8086}`;
const edgeBasePort = Number(env.MICHI_EDGE_BASE_PORT ?? 1884);
const metricsBasePort = Number(env.MICHI_METRICS_BASE_PORT ?? 9464);
// The cloud's /metrics listener, on loopback and apart from the API (docs/security.md, finding 8).
const cloudMetricsPort = Number(env.MICHI_CLOUD_METRICS_PORT ?? 9460);

process.umask(0o077);
mkdirSync(RUN, { recursive: true });
const pilots = loadSeeds('seeds');

// One secret per gateway, made once and reused across runs.
const secretsFile = `${RUN}/secrets.env`;
const secrets = {};
if (existsSync(secretsFile)) {
  for (const line of readFileSync(secretsFile, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) secrets[m[1]] = m[2];
  }
}
// Each gateway's device key (local.deviceKeyEnv) sits beside its secret. The simulator derives each
// vehicle's password from it, as a provisioning tool would (michi-edge device-password).
for (const p of pilots) {
  for (const gw of p.gateways) {
    secrets[gatewaySecretEnv(gw)] ??= randomBytes(24).toString('base64url');
    secrets[deviceKeyEnv(gw)] ??= randomBytes(32).toString('base64url');
  }
}
// API tokens (docs/api.md): an operator of every pilot, and the municipality view of the bus pilot.
const viewerPilot = pilots.find((p) => p.id === 'maebashi-l4-bus')?.id ?? pilots[0]?.id;
secrets.MICHI_API_TOKEN_OPERATOR ??= randomBytes(24).toString('base64url');
secrets.MICHI_API_TOKEN_VIEWER ??= randomBytes(24).toString('base64url');
const apiTokens = [
  { id: 'operator', role: 'operator', pilots: ['*'], tokenEnv: 'MICHI_API_TOKEN_OPERATOR' },
  { id: 'municipality', role: 'viewer', pilots: [viewerPilot], tokenEnv: 'MICHI_API_TOKEN_VIEWER' },
];
writeFileSync(
  secretsFile,
  Object.entries(secrets)
    .map(([k, v]) => `${k}=${v}\n`)
    .join(''),
  { mode: 0o600 },
);
chmodSync(secretsFile, 0o600);
if (secrets[INFLUX_CLOUD_PASSWORD_ENV] === undefined) {
  throw new Error(`${INFLUX_CLOUD_PASSWORD_ENV} is not in ${secretsFile}: start InfluxDB with scripts/influxdb.sh start first`);
}
const needed = secretsNeeded(pilots);

function start(name, args, secretNames) {
  // MICHI_EDGE_BASE_PORT and MICHI_CLOUD_METRICS_PORT are this script's settings, not the agents':
  // their loaders read every MICHI_EDGE_* / MICHI_CLOUD_* variable as a setting and refuse unknown
  // ones ("Unrecognized key: basePort", "metricsPort").
  const child = startProcess(
    args,
    processEnv(env, secrets, secretNames, ['MICHI_EDGE_BASE_PORT', 'MICHI_CLOUD_METRICS_PORT']),
    `${RUN}/${name}.log`,
  );
  writeFileSync(`${RUN}/${name}.pid`, `${child.pid}\n`);
  return child;
}

async function waitFor(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function yaml(obj, indent = '') {
  return Object.entries(obj)
    .map(([k, v]) =>
      typeof v === 'object' && v !== null ? `${indent}${k}:\n${yaml(v, `${indent}  `)}` : `${indent}${k}: ${JSON.stringify(v)}`,
    )
    .join('\n');
}

// The cloud.
writeFileSync(
  `${RUN}/cloud.yaml`,
  yaml({
    seedsDir: 'seeds',
    dashboardDir: 'dashboard/dist',
    mqtt: { host, port: cloudMqttPort },
    http: { host: env.MICHI_HTTP_HOST ?? host, port: httpPort },
    metrics: { host, port: cloudMetricsPort },
    grpc: { enabled: true, host, port: Number(env.MICHI_GRPC_PORT ?? 50051) },
    influx: { url: influxUrl, database: 'michi', username: 'michi_cloud', passwordEnv: INFLUX_CLOUD_PASSWORD_ENV },
    alarms: { dbFile: '.data/cloud/alarms.sqlite' },
  }) + `\nauth:\n  tokens: ${JSON.stringify(apiTokens)}\n`,
);
start('cloud', ['cloud/dist/main.js', '--config', `${RUN}/cloud.yaml`], needed.cloud);
await waitFor(
  `the cloud's API on port ${httpPort} (see ${RUN}/cloud.log)`,
  async () => (await fetch(`http://127.0.0.1:${httpPort}/api/v1/health`)).ok,
);

// Autonomy events per vehicle-hour in the demo, far above a real pilot's (a takeover every couple
// of hours), so that the Events tab, the takeovers by cause and the KPIs fill within minutes.
const DEMO_EVENT_RATES = ['--takeovers', '20', '--disengagements', '8', '--emergency-stops', '3', '--remote-assists', '12'];

// What makes the alarms (docs/alarms.md) show within minutes: in every pilot a vehicle goes quiet
// for 20 s about every 10 minutes (source-silent); in the bus pilot, scripted from its seed, an
// emergency stop 90 s in (emergency-stop, minimal-risk: the random ones take longer to come), a
// dead zone on its route (link-degraded, and a link loss now and then) and, from 2.5 min to 7.5
// min, a flat battery (low-battery). Its buses pass the dead zone every few minutes.
function demoAlarmArgs(p) {
  const args = ['--quiet', '6'];
  if (p.id !== viewerPilot) return args;
  const route = p.routes.find((r) => r.id === p.vehicles[0].routeId);
  const line = new RouteGeometry(route.geometry.coordinates, route.loop);
  // 60 % round the loop, where coverage is good (about -77 dBm): 38 dB more loss puts RSRP near
  // -115 dBm, under the alarm's -110 and mostly above the -125 at which the link is lost.
  const at = line.pointAt(0.6 * line.lengthM);
  return [
    ...args,
    '--dead-zone',
    `${at.lon.toFixed(6)},${at.lat.toFixed(6)},100,38`,
    '--trigger',
    `emergency-stop@90+60:${p.vehicles[0].id}`,
    '--trigger',
    `low-battery@150+300:${p.vehicles.at(-1).id}`,
  ];
}

// One edge agent per gateway, then one simulator per pilot driving its gateways.
let i = 0;
const edgeLines = [];
for (const p of pilots) {
  const gatewayUrls = [];
  const deviceKeys = [];
  for (const gw of p.gateways) {
    const port = edgeBasePort + i;
    const metricsPort = metricsBasePort + i;
    i++;
    writeFileSync(
      `${RUN}/edge-${gw.id}.yaml`,
      yaml({
        pilotId: p.id,
        gatewayId: gw.id,
        seedsDir: 'seeds',
        // The simulator connects each of a gateway's vehicles from this machine, one address for all.
        local: { mqtt: { host, port, maxConnectionsPerAddress: 100_000 }, deviceKeyEnv: deviceKeyEnv(gw) },
        buffer: { path: `.data/edge/${gw.id}/buffer.sqlite` },
        uplink: { url: `mqtt://127.0.0.1:${cloudMqttPort}`, passwordEnv: gatewaySecretEnv(gw) },
        metrics: { host, port: metricsPort },
      }) + '\n',
    );
    start(`edge-${gw.id}`, ['edge/dist/main.js', '--config', `${RUN}/edge-${gw.id}.yaml`], needed.edges[gw.id]);
    await waitFor(
      `edge agent ${gw.id} (see ${RUN}/edge-${gw.id}.log)`,
      async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).ok,
    );
    gatewayUrls.push('--gateway-url', `${gw.id}=mqtt://127.0.0.1:${port}`);
    edgeLines.push(`    ${gw.id.padEnd(12)} mqtt://127.0.0.1:${port}  metrics http://127.0.0.1:${metricsPort}/metrics  (${p.id})`);
    deviceKeys.push('--device-key-env', `${gw.id}=${deviceKeyEnv(gw)}`);
  }
  start(
    `sim-${p.id}`,
    [
      'simulators/dist/cli.js',
      '--pilot',
      p.id,
      '--seeds',
      'seeds',
      ...gatewayUrls,
      ...deviceKeys,
      ...DEMO_EVENT_RATES,
      ...demoAlarmArgs(p),
    ],
    needed.sims[p.id],
  );
}

console.log(`michi is running: ${pilots.length} pilots, ${i} edge agents, ${pilots.length} simulators.`);
console.log(`  operator dashboard: http://localhost:${httpPort}/#token=${secrets.MICHI_API_TOKEN_OPERATOR}`);
console.log(`  municipality view:  http://localhost:${httpPort}/#token=${secrets.MICHI_API_TOKEN_VIEWER}  (${viewerPilot}, viewer)`);
console.log(
  `  API:       curl -H "Authorization: Bearer $MICHI_API_TOKEN_OPERATOR" http://localhost:${httpPort}/api/v1/pilots  (tokens in ${secretsFile})`,
);
console.log(`  metrics:   curl http://127.0.0.1:${cloudMetricsPort}/metrics  (the cloud's; loopback only)`);
console.log('  edge agents (the brokers the simulators publish to):');
for (const line of edgeLines) console.log(line);
console.log(`  logs:      ${RUN}/*.log      stop: make stop`);
