/**
 * `michi-cloud incident-bundle`: the incident bundle of one vehicle around a moment, written to a
 * file by the operator on the cloud's machine, with the cloud's own configuration (InfluxDB, seeds,
 * alarm and record databases, audit file). It needs no running cloud and no token; the audit log gets the same
 * line as the API's, naming the operating-system user instead.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { ConfigError, loadSeeds } from '@michi/proto';
import { AlarmStore } from '../alarms/index.js';
import { AuditLog } from '../audit-log.js';
import { parseCommandLine } from '../command-line.js';
import { CLOUD_CONFIG_ENV, loadCloudConfig } from '../config.js';
import { InfluxServers } from '../influx-servers.js';
import { RecordStore } from '../records/index.js';
import { buildIncidentBundle, bundleWindowProblem } from './incident-bundle.js';
import { recordStoreExcerpts } from './record-excerpt.js';

export const BUNDLE_USAGE = `usage: michi-cloud incident-bundle --pilot P --vehicle V --at TIME [--before 5m] [--after 5m] [--out FILE] [--config FILE]
  --pilot P       pilot id
  --vehicle V     vehicle id (a vehicle of the pilot)
  --at TIME       the moment of the incident: ISO 8601 (2026-12-06T09:15:00Z) or ms since the epoch
  --before D      how long before it the window starts (e.g. 90s, 5m, 1h); default 5m
  --after D       how long after it the window ends; default 5m (the window is at most 60 min)
  --out FILE      the archive to write; default incident-<vehicle>-<start>.tar here
  --config FILE   the cloud's YAML configuration; default $MICHI_CLOUD_CONFIG`;

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `5m` → 300000; ConfigError naming the option otherwise. */
export function parseDuration(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new ConfigError(`--${option}: expected a duration such as 90s, 5m or 1h, got "${text}"`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** ISO 8601 with a time zone, or ms since the epoch; ConfigError otherwise. */
export function parseMoment(text: string): number {
  if (/^\d{1,16}$/.test(text)) return Number(text);
  const ms = /T.*(Z|[+-]\d\d:?\d\d)$/i.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms))
    throw new ConfigError(`--at: expected ISO 8601 with a time zone (2026-12-06T09:15:00Z) or ms since the epoch, got "${text}"`);
  return ms;
}

export interface BundleCommandResult {
  file: string;
  bytes: number;
  archiveSha256: string;
  manifestSha256: string;
}

/** Runs the command; what it wrote. ConfigError for a bad command line, configuration, pilot, vehicle or window. */
export async function runBundleCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<BundleCommandResult | 'help'> {
  const names = {
    pilot: 'a pilot id',
    vehicle: 'a vehicle id',
    at: 'a time',
    before: 'a duration',
    after: 'a duration',
    out: 'a file name',
    config: 'a file name',
  };
  const { values, help } = parseCommandLine(argv, names, BUNDLE_USAGE);
  if (help) return 'help';
  for (const required of ['pilot', 'vehicle', 'at'] as const) {
    if (values[required] === undefined) throw new ConfigError(`--${required} is required\n${BUNDLE_USAGE}`);
  }
  const at = parseMoment(values.at!);
  const fromMs = at - parseDuration('before', values.before ?? '5m');
  const toMs = at + parseDuration('after', values.after ?? '5m');
  const problem = bundleWindowProblem(fromMs, toMs);
  if (problem) throw new ConfigError(`--before/--after: ${problem}`);

  const config = loadCloudConfig(values.config ?? (env[CLOUD_CONFIG_ENV] || undefined), env);
  const pilots = loadSeeds(config.seedsDir);
  const pilot = pilots.find((p) => p.id === values.pilot);
  if (!pilot) throw new ConfigError(`--pilot: no pilot "${values.pilot}" in ${config.seedsDir}`);
  if (!pilot.vehicles.some((v) => v.id === values.vehicle)) {
    throw new ConfigError(
      `--vehicle: no vehicle "${values.vehicle}" in pilot "${pilot.id}"; its vehicles: ${pilot.vehicles.map((v) => v.id).join(', ')}`,
    );
  }
  const influx = new InfluxServers(config, pilots);
  const alarms = config.alarms.enabled ? new AlarmStore(config.alarms.dbFile) : undefined;
  // Read-only: the running cloud appends to the record; a missing database is a configuration fault.
  if (config.records.enabled && !existsSync(config.records.dbFile)) {
    alarms?.close();
    throw new ConfigError(`records.dbFile: no record database ${config.records.dbFile} (has the cloud run with this configuration?)`);
  }
  const records = config.records.enabled ? new RecordStore(config.records.dbFile, { readonly: true }) : undefined;
  const audit = new AuditLog({ file: config.auth.auditFile });
  const started = Date.now();
  const window = { pilot: pilot.id, vehicle: values.vehicle!, fromMs, toMs };
  let status = 500;
  try {
    const bundle = await buildIncidentBundle(
      { query: influx.query(), alarms, records: records && recordStoreExcerpts(records), now: Date.now },
      window,
    );
    const file = values.out ?? bundle.fileName;
    await writeFile(file, bundle.archive);
    status = 200;
    return {
      file,
      bytes: bundle.archive.byteLength,
      archiveSha256: createHash('sha256').update(bundle.archive).digest('hex'),
      manifestSha256: bundle.manifestSha256,
    };
  } finally {
    audit.record({
      token: null,
      role: null,
      user: userInfo().username,
      method: 'CLI',
      route: 'michi-cloud incident-bundle',
      url: '',
      pilot: pilot.id,
      status,
      reqId: `pid-${process.pid}`,
      ms: Date.now() - started,
      action: 'incident-bundle',
      vehicle: window.vehicle,
      window: `${new Date(fromMs).toISOString()}/${new Date(toMs).toISOString()}`,
    });
    audit.close();
    alarms?.close();
    records?.close();
    influx.close();
  }
}
