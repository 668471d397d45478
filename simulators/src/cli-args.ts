/**
 * The command line of `michi-sim`: parsed with node:util parseArgs and checked into the options
 * of a run, with a message a person can act on for every mistake (a UsageError, exit code 2).
 */
import { parseArgs } from 'node:util';
import { checkDeviceKey, isMichiError, isValidSegment, type PayloadFormat } from '@michi/proto';
import { parseTrigger, TRIGGER_KINDS, type QuietOptions, type Trigger } from './alarm-triggers.js';
import { UsageError } from './errors.js';
import type { FleetOptions } from './fleet.js';
import { SIMULATED_KINDS, type SimulatedKind } from './run-fleet.js';

export const USAGE = `Usage: michi-sim --pilot <id> [options]
       michi-sim record --pilot <id> --out <file.mcap> [options]    (michi-sim record --help)
       michi-sim replay --in <file.mcap> [options]                  (michi-sim replay --help)
       michi-sim scale --pilot <id> --vehicles <n> --out <dir>      (michi-sim scale --help)

Simulates the vehicles and roadside sensors of a pilot (seeds/<file>.json) and publishes their
readings to the local MQTT broker of each gateway's edge agent.

Options:
  --pilot <id>             pilot to simulate (required)
  --seeds <dir>            directory of pilot definitions (default: seeds)
  --mqtt <url>             broker of every gateway (default: mqtt://127.0.0.1:1884)
  --gateway-url <gw=url>   broker of one gateway, overriding --mqtt (repeatable)
  --grpc <host:port>       publish over gRPC (michi.v1.EdgeIngestService) to every gateway instead
  --gateway-grpc <gw=addr> the gRPC ingest of one gateway, overriding --grpc (repeatable)
  --device-key-env [gw=]NAME  the environment variable holding the device key of every gateway
                           (or of gateway gw; repeatable): each vehicle and sensor then connects
                           with its id and HMAC-derived password, as an edge agent requires
  --rate <hz>              state readings per vehicle per simulated second (default: 1)
  --phases <n>             vehicles report in n groups spread over each period, as independent
                           vehicles do (default: 1, every vehicle at the same instant)
  --duration <s>           stop after this many simulated seconds
  --count <n>              stop after exactly n readings in total
  --vehicles <n>           simulate n vehicles, cloning the pilot's beyond its own (the receivers
                           must load the same scaled pilot: see michi-sim scale)
  --speedup <x|max>        simulated seconds per real second (default: 1); max: as fast as acked
  --seed <n>               random seed; the same seed gives the same readings (default: 42)
  --format <f>             protobuf or json (default: protobuf)
  --kinds <list>           comma-separated: ${SIMULATED_KINDS.join(', ')} (default: all)
  --start-ts <ms>          source time of simulated second 0 (default: now)
  --takeovers <per h>      takeovers per hour of driving (default 0.6); also --disengagements (0.4),
                           --emergency-stops (0.1), --remote-assists (1); 0 turns one off
  --no-autonomy-events     every vehicle stays autonomous
  --no-clock-drift         every source stamps true time (default: offsets ~20 ms, drift ~10 ppm)
  --dead-zone <lon,lat,r[,dB]>  a dead zone of radius r metres (repeatable)
  --trigger <what>@<s>[+<dur>][:<vehicle>]  at simulated second s, for dur seconds (default
                           --trigger-duration), make a vehicle (default: the pilot's first) meet an
                           alarm rule (repeatable); what is one of
                           ${TRIGGER_KINDS.slice(0, 5).join(', ')},
                           ${TRIGGER_KINDS.slice(5).join(', ')}
  --trigger-duration <s>   how long a trigger lasts without +<dur> (default: 30)
  --quiet <per h>          a random vehicle stops publishing this often per hour, for --quiet-s
                           seconds (default 20), then resumes
  --duplicates <p>         publish a reading twice with probability p (fault injection)
  --malformed <p>          publish a malformed payload with probability p per reading
  --bursts <per h>         sources hold their readings for --burst-s seconds (default 30), then send all
  --record <file.mcap>     also record every reading made to an MCAP file
  --max-in-flight <n>      readings awaiting an acknowledgement at most (default: 2 s of the fleet's
                           state readings, at least 1000, at most 60000; real vehicles each have their own)
  --log-level <level>      fatal, error, warn, info, debug (default: warn)
  -h, --help               show this help

Exit codes: 0 done, every reading acknowledged; 1 failed (broker unreachable, readings not
acknowledged, invalid seeds); 2 bad usage.`;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface CliOptions {
  help: boolean;
  pilotId: string;
  seedsDir: string;
  mqttUrl: string;
  /** Per-gateway brokers from --gateway-url. */
  gatewayUrls: Record<string, string>;
  rateHz: number;
  /** Vehicles report in this many groups spread over each period. */
  phases: number;
  durationS: number | undefined;
  count: number | undefined;
  speedup: number;
  seed: number;
  format: PayloadFormat;
  kinds: SimulatedKind[];
  logLevel: LogLevel;
  vehicles: number | undefined;
  startTsMs: number | undefined;
  autonomy: false | { takeoverPerH?: number; disengagementPerH?: number; emergencyStopPerH?: number; remoteAssistPerH?: number };
  clockDrift: boolean;
  deadZones: { center: [number, number]; radiusM: number; lossDb?: number }[];
  faults: { duplicateRate?: number; malformedRate?: number; burstsPerH?: number; burstS?: number };
  record: string | undefined;
  /** gRPC ingest address per gateway id ('*' for every gateway); empty: MQTT. */
  grpc: Record<string, string>;
  /** The variable holding the device key, per gateway id ('*' for every gateway); empty: anonymous connections. */
  deviceKeyEnv: Record<string, string>;
  maxInFlight: number | undefined;
  /** Scripted alarm conditions (--trigger), in the order given. */
  triggers: Trigger[];
  quiet: QuietOptions | undefined;
}

/** Default length of a trigger, seconds: past every default alarm threshold it is meant to cross (10 s silence, 10 s degraded link). */
const DEFAULT_TRIGGER_S = 30;
const DEFAULT_QUIET_S = 20;

/** The fleet options of a run from its command line (a live run and `record` alike). */
export function fleetOptions(opts: CliOptions): Omit<FleetOptions, 'seed'> {
  return {
    autonomy: opts.autonomy,
    clock: opts.clockDrift ? {} : false,
    link: { deadZones: opts.deadZones },
    triggers: opts.triggers,
    ...(opts.quiet ? { quiet: opts.quiet } : {}),
  };
}

function rate01(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !(v >= 0 && v <= 1))
    throw new UsageError(`${flag}: expected a probability from 0 to 1, got ${JSON.stringify(raw)}`);
  return v;
}

function nonNegative(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0) throw new UsageError(`${flag}: expected a number ≥ 0, got ${JSON.stringify(raw)}`);
  return v;
}

function deadZone(raw: string): { center: [number, number]; radiusM: number; lossDb?: number } {
  const parts = raw.split(',').map((p) => Number(p.trim()));
  const [lon, lat, r, db] = parts;
  if (
    parts.length < 3 ||
    parts.length > 4 ||
    parts.some((p) => !Number.isFinite(p)) ||
    Math.abs(lat!) > 90 ||
    Math.abs(lon!) > 180 ||
    !(r! > 0)
  ) {
    throw new UsageError(
      `--dead-zone: expected <lon>,<lat>,<radius m>[,<loss dB>], e.g. 139.0731,36.3834,80,40, got ${JSON.stringify(raw)}`,
    );
  }
  return { center: [lon!, lat!], radiusM: r!, ...(db !== undefined ? { lossDb: db } : {}) };
}

const BROKER_PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'];

function positiveNumber(flag: string, raw: string | undefined, fallback: number): number;
function positiveNumber(flag: string, raw: string | undefined, fallback?: undefined): number | undefined;
function positiveNumber(flag: string, raw: string | undefined, fallback?: number): number | undefined {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v <= 0)
    throw new UsageError(`${flag}: expected a number > 0, got ${JSON.stringify(raw)}`);
  return v;
}

function wholeNumber(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(v) || v < min) {
    throw new UsageError(`${flag}: expected a whole number ≥ ${min}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

function brokerUrl(flag: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${flag}: expected a broker URL such as mqtt://127.0.0.1:1884, got ${JSON.stringify(raw)}`);
  }
  if (!BROKER_PROTOCOLS.includes(url.protocol)) {
    throw new UsageError(
      `${flag}: expected a URL starting with ${BROKER_PROTOCOLS.map((p) => `${p}//`).join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

/** Parses `michi-sim` arguments (without the node and script paths). Throws UsageError. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        pilot: { type: 'string' },
        seeds: { type: 'string', default: 'seeds' },
        mqtt: { type: 'string', default: 'mqtt://127.0.0.1:1884' },
        'gateway-url': { type: 'string', multiple: true, default: [] },
        rate: { type: 'string' },
        phases: { type: 'string' },
        duration: { type: 'string' },
        count: { type: 'string' },
        speedup: { type: 'string' },
        seed: { type: 'string' },
        format: { type: 'string', default: 'protobuf' },
        kinds: { type: 'string', default: SIMULATED_KINDS.join(',') },
        vehicles: { type: 'string' },
        'start-ts': { type: 'string' },
        takeovers: { type: 'string' },
        disengagements: { type: 'string' },
        'emergency-stops': { type: 'string' },
        'remote-assists': { type: 'string' },
        'no-autonomy-events': { type: 'boolean', default: false },
        'no-clock-drift': { type: 'boolean', default: false },
        'dead-zone': { type: 'string', multiple: true, default: [] },
        duplicates: { type: 'string' },
        malformed: { type: 'string' },
        bursts: { type: 'string' },
        'burst-s': { type: 'string' },
        record: { type: 'string' },
        grpc: { type: 'string' },
        'max-in-flight': { type: 'string' },
        'gateway-grpc': { type: 'string', multiple: true, default: [] },
        'device-key-env': { type: 'string', multiple: true, default: [] },
        trigger: { type: 'string', multiple: true, default: [] },
        'trigger-duration': { type: 'string' },
        quiet: { type: 'string' },
        'quiet-s': { type: 'string' },
        'log-level': { type: 'string', default: 'warn' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    // parseArgs already names the option ("Unknown option '--rat'"); keep its words.
    throw new UsageError((err as Error).message);
  }

  const help = values.help === true;
  const pilotId = values.pilot ?? '';
  if (!help && pilotId === '') throw new UsageError('--pilot: expected the id of the pilot to simulate, e.g. --pilot maebashi-l4-bus');

  const gatewayUrls: Record<string, string> = {};
  for (const entry of values['gateway-url'] ?? []) {
    const eq = entry.indexOf('=');
    const gw = eq > 0 ? entry.slice(0, eq) : '';
    if (!isValidSegment(gw))
      throw new UsageError(
        `--gateway-url: expected <gateway-id>=<url>, e.g. gw-ekimae=mqtt://127.0.0.1:1885, got ${JSON.stringify(entry)}`,
      );
    if (gw in gatewayUrls) throw new UsageError(`--gateway-url: gateway "${gw}" given twice`);
    gatewayUrls[gw] = brokerUrl(`--gateway-url ${gw}`, entry.slice(eq + 1));
  }

  const format = values.format;
  if (format !== 'protobuf' && format !== 'json')
    throw new UsageError(`--format: expected protobuf or json, got ${JSON.stringify(format)}`);

  const kinds = (values.kinds ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (kinds.length === 0) throw new UsageError(`--kinds: expected a comma-separated list of ${SIMULATED_KINDS.join(', ')}`);
  for (const k of kinds) {
    if (!(SIMULATED_KINDS as readonly string[]).includes(k)) {
      throw new UsageError(`--kinds: expected ${SIMULATED_KINDS.join(', ')}, got ${JSON.stringify(k)}`);
    }
  }

  const logLevel = values['log-level'];
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel ?? '')) {
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  }

  const speedupRaw = values.speedup;
  const speedup = speedupRaw === 'max' ? Infinity : positiveNumber('--speedup', speedupRaw, 1);
  const seed = wholeNumber('--seed', values.seed, 0) ?? 42;
  if (seed > 0xffff_ffff) throw new UsageError(`--seed: expected a whole number from 0 to 4294967295, got ${values.seed}`);
  const count = wholeNumber('--count', values.count, 1);
  const durationS = positiveNumber('--duration', values.duration);
  const triggerS = positiveNumber('--trigger-duration', values['trigger-duration'], DEFAULT_TRIGGER_S);
  const triggers = (values.trigger ?? []).map((raw) => {
    const t = parseTrigger(raw, triggerS);
    if (durationS !== undefined && t.atS >= durationS)
      throw new UsageError(`--trigger ${raw}: starts at ${t.atS} s, after the end of the run (--duration ${durationS})`);
    return t;
  });
  const quietPerH = nonNegative('--quiet', values.quiet);
  if (values['quiet-s'] !== undefined && quietPerH === undefined)
    throw new UsageError('--quiet-s: goes with --quiet <per h>, how often a vehicle goes quiet');

  return {
    help,
    pilotId,
    seedsDir: values.seeds ?? 'seeds',
    mqttUrl: brokerUrl('--mqtt', values.mqtt ?? ''),
    gatewayUrls,
    rateHz: positiveNumber('--rate', values.rate, 1),
    phases: wholeNumber('--phases', values.phases, 1) ?? 1,
    durationS,
    count,
    speedup,
    seed,
    format,
    kinds: [...new Set(kinds)] as SimulatedKind[],
    logLevel: logLevel as LogLevel,
    vehicles: wholeNumber('--vehicles', values.vehicles, 1),
    startTsMs: wholeNumber('--start-ts', values['start-ts'], 0),
    autonomy:
      values['no-autonomy-events'] === true
        ? false
        : dropUndefined({
            takeoverPerH: nonNegative('--takeovers', values.takeovers),
            disengagementPerH: nonNegative('--disengagements', values.disengagements),
            emergencyStopPerH: nonNegative('--emergency-stops', values['emergency-stops']),
            remoteAssistPerH: nonNegative('--remote-assists', values['remote-assists']),
          }),
    clockDrift: values['no-clock-drift'] !== true,
    deadZones: (values['dead-zone'] ?? []).map(deadZone),
    faults: dropUndefined({
      duplicateRate: rate01('--duplicates', values.duplicates),
      malformedRate: rate01('--malformed', values.malformed),
      burstsPerH: nonNegative('--bursts', values.bursts),
      burstS: positiveNumber('--burst-s', values['burst-s']),
    }),
    record: values.record,
    grpc: grpcAddrs(values.grpc, values['gateway-grpc'] ?? []),
    deviceKeyEnv: deviceKeyEnvs(values['device-key-env'] ?? []),
    maxInFlight: wholeNumber('--max-in-flight', values['max-in-flight'], 1),
    triggers,
    quiet:
      quietPerH === undefined ? undefined : { perH: quietPerH, durationS: positiveNumber('--quiet-s', values['quiet-s'], DEFAULT_QUIET_S) },
  };
}

/** The object without its undefined properties (exactOptionalPropertyTypes). */
export function dropUndefined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** `--device-key-env NAME` (every gateway) and `--device-key-env gw=NAME` (one gateway). */
export function deviceKeyEnvs(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const gw = eq >= 0 ? entry.slice(0, eq) : '*';
    const name = entry.slice(eq + 1);
    if ((gw !== '*' && !isValidSegment(gw)) || !/^[A-Z_][A-Z0-9_]*$/.test(name)) {
      throw new UsageError(
        `--device-key-env: expected the name of an environment variable, or <gateway-id>=<name>, e.g. gw-ekimae=MICHI_GW_EKIMAE_DEVICE_KEY, got ${JSON.stringify(entry)}`,
      );
    }
    if (gw in out) throw new UsageError(`--device-key-env: ${gw === '*' ? 'every gateway' : `gateway "${gw}"`} given twice`);
    out[gw] = name;
  }
  return out;
}

/** Each gateway's device key from the variables `--device-key-env` names; gateways without one are left out. */
export function resolveDeviceKeys(
  names: Readonly<Record<string, string>>,
  gatewayIds: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Map<string, string> {
  const keys = new Map<string, string>();
  for (const gw of gatewayIds) {
    const name = names[gw] ?? names['*'];
    if (name === undefined) continue;
    const key = env[name];
    if (!key) throw new UsageError(`--device-key-env: ${name} (the device key of gateway "${gw}") is not set or empty`);
    try {
      checkDeviceKey(key, `--device-key-env ${name}`);
    } catch (err) {
      if (isMichiError(err)) throw new UsageError(err.message);
      throw err;
    }
    keys.set(gw, key);
  }
  return keys;
}

function grpcAddrs(all: string | undefined, perGateway: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const addr = (flag: string, raw: string): string => {
    if (!/^[A-Za-z0-9.[\]:_-]+:\d{1,5}$/.test(raw))
      throw new UsageError(`${flag}: expected host:port, e.g. 127.0.0.1:50052, got ${JSON.stringify(raw)}`);
    return raw;
  };
  if (all !== undefined) out['*'] = addr('--grpc', all);
  for (const entry of perGateway) {
    const eq = entry.indexOf('=');
    const gw = eq > 0 ? entry.slice(0, eq) : '';
    if (!isValidSegment(gw)) throw new UsageError(`--gateway-grpc: expected <gateway-id>=<host:port>, got ${JSON.stringify(entry)}`);
    out[gw] = addr(`--gateway-grpc ${gw}`, entry.slice(eq + 1));
  }
  return out;
}
