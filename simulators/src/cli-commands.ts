/**
 * The subcommands of michi-sim besides a live run: `record` (a simulated fleet, or a time range of
 * InfluxDB, into an MCAP file), `replay` (an MCAP file into edges or the cloud) and `scale` (a
 * pilot definition with more vehicles, for the receivers of a scaled run). Each returns an exit code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadSeeds, type Pilot } from '@michi/proto';
import type { Logger } from 'pino';
import { deviceKeyEnvs, fleetOptions, parseCliArgs, resolveDeviceKeys } from './cli-args.js';
import { UsageError } from './errors.js';
import { exportFromInflux } from './influx-export.js';
import { McapRecorder } from './mcap-file.js';
import { NullPublisher } from './null-publisher.js';
import { CloudPublisher } from './publisher-cloud.js';
import { MqttPublisher, type ReadingPublisher } from './publisher-mqtt.js';
import { replayRecording } from './replay.js';
import { runFleet, gatewayUrls } from './run-fleet.js';
import { scalePilot } from './scale-pilot.js';

export const RECORD_USAGE = `Usage: michi-sim record --pilot <id> --out <file.mcap> [simulation options]
       michi-sim record --pilot <id> --out <file.mcap> --influx <url> --from <time> --to <time>

Records readings into an MCAP file (protobuf schemas embedded; Foxglove and Lichtblick open it).
From the simulator (as fast as the models run, nothing published): the options of a live run
apply (--seed, --vehicles, --rate, --kinds, --duration (default 60), --count, --start-ts, ...);
the same options and --start-ts give a byte-identical file.
From InfluxDB: --influx <url> --database <db> (default michi) --from/--to (ISO 8601 or ms);
with authentication, --influx-user <name> (e.g. michi_reader) and --influx-password-env <VAR>,
the environment variable holding its password (never the password on the command line).`;

export const REPLAY_USAGE = `Usage: michi-sim replay --in <file.mcap> [--mqtt <url> | --gateway-url <gw=url>... | --cloud <url>]
                        [--speed <1..100|max>] [--pilot <id>] [--seeds <dir>] [--device-key-env [gw=]NAME]...
                        [--shift-to-now | --past-window <days>]

Replays a recording with its original relative timing, sped up by --speed (default 1).
Into edges (default mqtt://127.0.0.1:1884): each reading on its recorded topic, bytes as recorded,
each source on its own connection with the password derived from its gateway's device key
(--device-key-env, as in michi-sim --help).
Into the cloud (--cloud mqtt://host:1883): as batches of each gateway, authenticated with the
secret its pilot definition names (credentialsRef env:VAR, read from the environment).
The cloud refuses readings older than its timestampWindow.pastMs (7 days by default) while still
acknowledging their batch, so a replay with older readings does not start: --shift-to-now moves
every timestamp by one offset so that the recording ends now (its relative timing kept), or
--past-window <days> states the receiving cloud's wider window.`;

export const SCALE_USAGE = `Usage: michi-sim scale --pilot <id> --vehicles <n> --out <dir> [--seeds <dir>]

Writes <dir>/<pilot>.json: the pilot with n vehicles (its own, then clones round-robin), to give
the edges and the cloud of a scaled run (they accept only sources their pilot definition names).`;

const DAY_MS = 86_400_000;
/** The cloud's default timestampWindow.pastMs, in days. */
const DEFAULT_PAST_WINDOW_DAYS = 7;

function findPilot(seedsDir: string, id: string): Pilot {
  const pilot = loadSeeds(seedsDir).find((p) => p.id === id);
  if (!pilot) throw new UsageError(`--pilot: no pilot "${id}" in ${seedsDir}`);
  return pilot;
}

/** Splits off `own` options (with values) from the arguments, leaving the rest for parseCliArgs. */
function splitOptions(argv: readonly string[], own: readonly string[]): { own: Record<string, string>; rest: string[] } {
  const out: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.replace(/^--/, '').split('=')[0]!;
    if (a.startsWith('--') && own.includes(name)) {
      const eq = a.indexOf('=');
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name}: expected a value`);
      out[name] = value;
    } else rest.push(a);
  }
  return { own: out, rest };
}

function timeArg(flag: string, raw: string | undefined): number {
  if (raw === undefined) throw new UsageError(`${flag}: expected a time (ISO 8601 or ms since the epoch)`);
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new UsageError(`${flag}: expected a time (ISO 8601 or ms since the epoch), got ${JSON.stringify(raw)}`);
  return ms;
}

/** --influx-user with the password from the variable --influx-password-env names. */
function influxCredentials(username: string | undefined, passwordEnv: string | undefined): { username?: string; password?: string } {
  if (username === undefined && passwordEnv === undefined) return {};
  if (username === undefined || passwordEnv === undefined) {
    throw new UsageError('--influx-user and --influx-password-env go together: a user and the variable holding its password');
  }
  const password = process.env[passwordEnv];
  if (!password) throw new UsageError(`--influx-password-env: the environment variable ${passwordEnv} is not set`);
  return { username, password };
}

export async function recordCommand(argv: readonly string[], logger: Logger, print: (s: string) => void): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    print(RECORD_USAGE);
    return 0;
  }
  const { own, rest } = splitOptions(argv, ['out', 'influx', 'database', 'from', 'to', 'influx-user', 'influx-password-env']);
  const out = own['out'];
  if (!out) throw new UsageError('--out: expected the MCAP file to write');
  if (own['influx'] !== undefined) {
    const { values } = parseArgs({ args: rest, options: { pilot: { type: 'string' }, 'log-level': { type: 'string' } }, strict: true });
    if (!values.pilot) throw new UsageError('--pilot: expected the pilot to export');
    const fromMs = timeArg('--from', own['from']);
    const toMs = timeArg('--to', own['to']);
    if (!(toMs > fromMs)) throw new UsageError('--to: expected a time after --from');
    const credentials = influxCredentials(own['influx-user'], own['influx-password-env']);
    const recorder = await McapRecorder.create(out, {
      pilot: values.pilot,
      source: 'influxdb',
      from_ms: String(fromMs),
      to_ms: String(toMs),
    });
    for await (const r of exportFromInflux({
      url: own['influx'],
      database: own['database'] ?? 'michi',
      pilotId: values.pilot,
      fromMs,
      toMs,
      ...credentials,
    })) {
      recorder.add(r);
      if (recorder.messages % 10_000 === 0) await recorder.flush();
    }
    await recorder.close();
    print(`recorded ${recorder.messages} readings of ${values.pilot} from InfluxDB to ${out}`);
    if (recorder.messages === 0) {
      // An empty file is almost always a wrong pilot id, range (UTC) or database, not an idle pilot.
      logger.warn(
        {
          pilot: values.pilot,
          from: new Date(fromMs).toISOString(),
          to: new Date(toMs).toISOString(),
          database: own['database'] ?? 'michi',
        },
        'no readings of this pilot in this range: check the pilot id, the times (UTC unless they say otherwise) and --database',
      );
      return 1;
    }
    return 0;
  }
  const opts = parseCliArgs(rest);
  let pilot = findPilot(opts.seedsDir, opts.pilotId);
  if (opts.vehicles !== undefined) pilot = scalePilot(pilot, opts.vehicles);
  const startTsMs = opts.startTsMs ?? Date.now();
  const durationS = opts.durationS ?? (opts.count === undefined ? 60 : undefined);
  const recorder = await McapRecorder.create(out, {
    pilot: pilot.id,
    source: 'michi-sim',
    seed: String(opts.seed),
    start_ts_ms: String(startTsMs),
    vehicles: String(pilot.vehicles.length),
    kinds: opts.kinds.join(','),
  });
  const result = await runFleet({
    pilot,
    publisher: new NullPublisher(),
    rateHz: opts.rateHz,
    phases: opts.phases,
    ...(durationS !== undefined ? { durationS } : {}),
    ...(opts.count !== undefined ? { count: opts.count } : {}),
    speedup: Infinity,
    seed: opts.seed,
    kinds: opts.kinds,
    startTsMs,
    fleet: fleetOptions(opts),
    onReading: (r) => recorder.add(r),
    logger,
  });
  await recorder.close();
  print(`recorded ${recorder.messages} readings (${result.simulatedS.toFixed(1)} simulated s) of ${pilot.id} to ${out}`);
  return 0;
}

export async function replayCommand(argv: readonly string[], logger: Logger, print: (s: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      in: { type: 'string' },
      mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1884' },
      'gateway-url': { type: 'string', multiple: true, default: [] },
      cloud: { type: 'string' },
      speed: { type: 'string', default: '1' },
      pilot: { type: 'string' },
      seeds: { type: 'string', default: 'seeds' },
      'log-level': { type: 'string' },
      'device-key-env': { type: 'string', multiple: true, default: [] },
      'shift-to-now': { type: 'boolean', default: false },
      'past-window': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(REPLAY_USAGE);
    return 0;
  }
  if (!values.in) throw new UsageError('--in: expected the MCAP file to replay');
  const speed = values.speed === 'max' ? Infinity : Number(values.speed);
  if (!(speed >= 1 && (speed <= 100 || speed === Infinity)))
    throw new UsageError(`--speed: expected a number from 1 to 100, or max, got ${JSON.stringify(values.speed)}`);
  // Which pilot and gateways the file holds decides where to connect.
  const { openMcapReadings } = await import('./mcap-file.js');
  const file = await openMcapReadings(values.in);
  const pastWindowDays = values['past-window'] === undefined ? DEFAULT_PAST_WINDOW_DAYS : Number(values['past-window']);
  if (!(pastWindowDays > 0))
    throw new UsageError(`--past-window: expected a number of days > 0, got ${JSON.stringify(values['past-window'])}`);
  if (values['shift-to-now'] && values['past-window'] !== undefined) throw new UsageError('--shift-to-now and --past-window: give one');
  const oldestAccepted = Date.now() - pastWindowDays * DAY_MS;
  const gateways = new Map<string, Set<string>>();
  let readings = 0;
  let tooOld = 0;
  let lastTsMs = -Infinity;
  for await (const r of file.readings()) {
    if (values.pilot !== undefined && r.pilotId !== values.pilot) continue;
    if (!gateways.has(r.pilotId)) gateways.set(r.pilotId, new Set());
    gateways.get(r.pilotId)!.add(r.gatewayId);
    readings++;
    if (r.tsMs < oldestAccepted) tooOld++;
    if (r.tsMs > lastTsMs) lastTsMs = r.tsMs;
  }
  await file.close();
  if (tooOld > 0 && !values['shift-to-now'])
    throw new UsageError(
      `--in: ${tooOld} of ${readings} readings in ${values.in} are older than ${pastWindowDays} days; the cloud would refuse them ` +
        `(timestampWindow.pastMs) while acknowledging their batches, so nothing would be stored. Replay them shifted to now ` +
        `with --shift-to-now, or, if the receiving cloud keeps a wider window, give it with --past-window <days>`,
    );
  // One offset for every reading: the recording ends now, its relative timing kept.
  const shiftMs = values['shift-to-now'] && readings > 0 ? Date.now() - lastTsMs : 0;
  if (gateways.size === 0)
    throw new UsageError(`--in: ${values.in} holds no michi readings${values.pilot ? ` of pilot ${values.pilot}` : ''}`);
  if (gateways.size > 1)
    throw new UsageError(`--pilot: ${values.in} holds several pilots (${[...gateways.keys()].join(', ')}); choose one`);
  const [pilotId, gws] = [...gateways][0]!;
  let publisher: ReadingPublisher;
  if (values.cloud !== undefined) {
    const pilot = findPilot(values.seeds, pilotId);
    const secrets = new Map<string, string>();
    for (const gw of gws) {
      const ref = pilot.gateways.find((g) => g.id === gw)?.credentialsRef;
      const env = ref?.replace(/^env:/, '');
      const secret = env ? process.env[env] : undefined;
      if (!secret)
        throw new UsageError(
          `--cloud: gateway "${gw}" needs its secret in the environment (${ref ?? 'no credentialsRef in its pilot definition'})`,
        );
      secrets.set(gw, secret);
    }
    publisher = await CloudPublisher.open({ pilotId, url: values.cloud, secrets, logger });
  } else {
    const urls: Record<string, string> = {};
    for (const gw of gws) urls[gw] = values.mqtt;
    for (const entry of values['gateway-url']) {
      const eq = entry.indexOf('=');
      if (eq <= 0) throw new UsageError(`--gateway-url: expected <gateway-id>=<url>, got ${JSON.stringify(entry)}`);
      urls[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    publisher = await MqttPublisher.open({
      pilotId,
      gatewayUrls: gatewayUrls(pilotId, [...gws], urls),
      clientIdPrefix: 'sim-replay',
      deviceKeys: resolveDeviceKeys(deviceKeyEnvs(values['device-key-env']), [...gws], process.env),
      logger,
    });
  }
  try {
    const result = await replayRecording({
      file: values.in,
      publisher,
      speed,
      pilotId,
      // A shifted reading has new bytes: its body is decoded, moved and encoded again.
      decode: values.cloud !== undefined || shiftMs !== 0,
      shiftMs,
    });
    print(
      `replayed ${(result.recordedMs / 1000).toFixed(1)} recorded s in ${(result.elapsedMs / 1000).toFixed(1)} s: ` +
        `sent ${result.sent}, acked ${result.acked}, failed ${result.failed}` +
        (shiftMs !== 0 ? ` (timestamps shifted by ${(shiftMs / DAY_MS).toFixed(2)} days)` : ''),
    );
    return result.failed === 0 ? 0 : 1;
  } finally {
    await publisher.close();
  }
}

export function scaleCommand(argv: readonly string[], print: (s: string) => void): number {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      pilot: { type: 'string' },
      vehicles: { type: 'string' },
      out: { type: 'string' },
      seeds: { type: 'string', default: 'seeds' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(SCALE_USAGE);
    return 0;
  }
  if (!values.pilot || !values.out || values.vehicles === undefined) throw new UsageError('expected --pilot, --vehicles and --out');
  const n = Number(values.vehicles);
  const scaled = scalePilot(findPilot(values.seeds, values.pilot), n);
  mkdirSync(values.out, { recursive: true });
  const file = path.join(values.out, `${scaled.id}.json`);
  writeFileSync(file, `${JSON.stringify(scaled, null, 1)}\n`);
  print(`wrote ${file}: pilot ${scaled.id} with ${scaled.vehicles.length} vehicles`);
  return 0;
}
