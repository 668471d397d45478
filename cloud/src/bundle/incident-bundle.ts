/**
 * An incident bundle (docs/incident-bundles.md): everything the cloud holds about one vehicle over a
 * window, as one ustar archive with a manifest of SHA-256 hashes, for an operator to hand to an
 * investigator. Readings, link samples and events come from InfluxDB (one request), alarm changes
 * from the alarm store, record entries from a RecordsProvider; recording.mcap holds the same readings
 * as michi.v1 protobuf messages, written as the simulator's recorder writes them (@michi/proto/mcap),
 * so Foxglove, Lichtblick and `michi-sim replay` open it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MAX_BUNDLE_WINDOW_MIN, MEASUREMENTS, readingTopic, TAGS, type ReadingKind } from '@michi/proto';
import { BytesWritable, McapReadingWriter, rowToBody } from '@michi/proto/mcap';
import type { AlarmStore } from '../alarms/index.js';
import { quoteIdentifier, quoteLiteral, type InfluxQuery, type InfluxRow } from '../influx-query.js';
import { pilotRange } from '../queries/stats.js';
import type { RecordsProvider } from './records-provider.js';
import { storedCsv } from './stored-csv.js';
import { ustarArchive, type TarMember } from './ustar.js';

/** The longest window a bundle covers (the API's contract says it too): an incident's minutes before and after, not a day's data. */
const MAX_BUNDLE_WINDOW_MS = MAX_BUNDLE_WINDOW_MIN * 60_000;
const BUNDLE_FORMAT = 'michi-incident-bundle/1';
/** Alarm changes kept in alarms.json at most (the store's history query needs a limit). */
const MAX_ALARM_CHANGES = 10_000;

const MICHI_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface BundleWindow {
  pilot: string;
  vehicle: string;
  /** Source time, ms since the epoch, both inclusive. */
  fromMs: number;
  toMs: number;
}

export interface BundleDeps {
  query: InfluxQuery;
  /** The alarm store; undefined when alarms are off (alarms.json is then left out). */
  alarms?: AlarmStore | undefined;
  /** The operating-state record; undefined until one is wired (records.jsonl is then left out). */
  records?: RecordsProvider | undefined;
  now: () => number;
}

export interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  pilot: string;
  vehicle: string;
  window: { from: string; to: string; fromMs: number; toMs: number };
  generatedAt: string;
  michiVersion: string;
  counts: { readings: number; links: number; events: number; alarmChanges: number | null; recordEntries: number | null };
  /** Files a bundle can hold that this one does not, and why. */
  omitted: Record<string, string>;
  /** Every other file of the archive except SHA256SUMS (which lists this one too). */
  files: ManifestFile[];
}

export interface IncidentBundle {
  /** The archive's file name, e.g. incident-bus-01-20261206T120000Z.tar. */
  fileName: string;
  archive: Buffer;
  manifest: BundleManifest;
  /** The SHA-256 of manifest.json, which pins every other file: what an operator writes down or sends along. */
  manifestSha256: string;
}

/** Why a window cannot be bundled, or null when it can. */
export function bundleWindowProblem(fromMs: number, toMs: number): string | null {
  if (!(toMs > fromMs)) return `the window must end after it starts (from ${fromMs}, to ${toMs})`;
  if (toMs - fromMs > MAX_BUNDLE_WINDOW_MS) {
    return `the window is ${((toMs - fromMs) / 60_000).toFixed(1)} min; a bundle covers at most ${MAX_BUNDLE_WINDOW_MIN} min`;
  }
  return null;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** 2026-12-06T12:00:00.000Z → 20261206T120000Z. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/** The vehicle's stored points of each kind over the window, oldest first: one InfluxDB request. */
async function storedRows(queries: InfluxQuery, w: BundleWindow): Promise<Record<'state' | 'link' | 'event', InfluxRow[]>> {
  const query = queries.forPilot(w.pilot);
  const kinds = ['state', 'link', 'event'] as const;
  const where = `${pilotRange(w.pilot, w.fromMs, w.toMs)} AND ${quoteIdentifier(TAGS.source)} = ${quoteLiteral(w.vehicle)}`;
  const results = await query.rowsOfEach(
    kinds.map((k) => `SELECT * FROM ${quoteIdentifier(MEASUREMENTS[k])} WHERE ${where} ORDER BY time`),
  );
  // Link samples come as one series per cell tag: back into one time order.
  const byTime = (rows: InfluxRow[]): InfluxRow[] => rows.sort((a, b) => a.time - b.time);
  return { state: byTime(results[0] ?? []), link: byTime(results[1] ?? []), event: byTime(results[2] ?? []) };
}

/** The window's readings as an MCAP recording (log-time order), as `michi-sim record` writes one. */
async function recording(w: BundleWindow, rows: Record<'state' | 'link' | 'event', InfluxRow[]>): Promise<Buffer> {
  const sink = new BytesWritable();
  const writer = await McapReadingWriter.start(sink, 'michi-cloud incident-bundle', {
    pilot: w.pilot,
    vehicle: w.vehicle,
    from: new Date(w.fromMs).toISOString(),
    to: new Date(w.toMs).toISOString(),
  });
  const all = (Object.entries(rows) as [ReadingKind, InfluxRow[]][]).flatMap(([kind, rs]) => rs.map((row) => ({ kind, row })));
  all.sort((a, b) => a.row.time - b.row.time);
  for (const { kind, row } of all) {
    const gateway = typeof row['gateway'] === 'string' ? row['gateway'] : '';
    writer.add({ kind, topic: readingTopic(w.pilot, gateway, w.vehicle, kind), body: rowToBody(kind, row) });
  }
  await writer.end();
  return sink.bytes();
}

function readme(m: Omit<BundleManifest, 'files'>, dir: string): string {
  return `michi incident bundle (${BUNDLE_FORMAT})
Pilot ${m.pilot}, vehicle ${m.vehicle}, source time ${m.window.from} to ${m.window.to} (both inclusive).
Generated ${m.generatedAt} by michi ${m.michiVersion}.

Files
  readings.csv     vehicle states as stored in InfluxDB (measurement vehicle_state), one row each
  links.csv        5G link samples of the vehicle (link_sample)
  events.csv       events of the vehicle (event)
  alarms.json      changes of the vehicle's alarms in the window (cloud time), when alarms are on
  records.jsonl    the vehicle's operating-state record entries in the window, with records-proof.json
  recording.mcap   the same readings as michi.v1 protobuf messages (Foxglove, Lichtblick, michi-sim replay)
  manifest.json    pilot, vehicle, window, counts, and the size and SHA-256 of every file
  SHA256SUMS       the SHA-256 of every file, manifest.json included
${Object.entries(m.omitted)
  .map(([name, why]) => `Not in this bundle: ${name} (${why}).\n`)
  .join('')}
Verify
  tar -xf ${dir}.tar && cd ${dir} && sha256sum -c SHA256SUMS
  (macOS: shasum -a 256 -c SHA256SUMS). Every line must say OK. Compare the SHA-256 of manifest.json
  with the one the operator wrote down or sent when the bundle was made: that pins every other file.
  CSV files are UTF-8 with a byte-order mark; times are UTC.
`;
}

/** Builds the bundle of `w` (call bundleWindowProblem first; the pilot and vehicle are the caller's to check). */
export async function buildIncidentBundle(deps: BundleDeps, w: BundleWindow): Promise<IncidentBundle> {
  const generatedAtMs = deps.now();
  const rows = await storedRows(deps.query, w);
  const members: TarMember[] = [
    { name: 'readings.csv', data: storedCsv('state', rows.state) },
    { name: 'links.csv', data: storedCsv('link', rows.link) },
    { name: 'events.csv', data: storedCsv('event', rows.event) },
  ];
  const omitted: Record<string, string> = {};
  let alarmChanges: number | null = null;
  if (deps.alarms) {
    // The store keeps cloud time; the window is source time, which is what the cloud received within seconds of.
    const changes = deps.alarms
      .history(w.pilot, { fromMs: w.fromMs, toMs: w.toMs + 1, source: w.vehicle, limit: MAX_ALARM_CHANGES })
      .reverse();
    alarmChanges = changes.length;
    const body = { pilot: w.pilot, vehicle: w.vehicle, timeBase: 'cloud time (ms since the epoch)', changes };
    members.push({ name: 'alarms.json', data: Buffer.from(`${JSON.stringify(body, null, 2)}\n`) });
  } else {
    omitted['alarms.json'] = 'alarms are off in this cloud (alarms.enabled: false)';
  }
  let recordEntries: number | null = null;
  if (deps.records) {
    const excerpt = await deps.records.excerpt(w.pilot, w.vehicle, w.fromMs, w.toMs);
    recordEntries = excerpt.entries.length;
    // The record's own export line ({hash, entry}), so one verifier reads both.
    const jsonl = excerpt.entries.map((e) => `${JSON.stringify({ hash: e.hash, entry: e.entry })}\n`).join('');
    const proof = { prevHash: excerpt.prevHash, hashes: excerpt.entries.map((e) => e.hash), hashRule: excerpt.hashRule };
    members.push(
      { name: 'records.jsonl', data: Buffer.from(jsonl) },
      { name: 'records-proof.json', data: Buffer.from(`${JSON.stringify(proof, null, 2)}\n`) },
    );
  } else {
    omitted['records.jsonl'] = 'the operating-state record is off in this cloud (records.enabled: false)';
  }
  members.push({ name: 'recording.mcap', data: await recording(w, rows) });

  const dir = `incident-${w.vehicle}-${stamp(w.fromMs)}`;
  const head = {
    format: BUNDLE_FORMAT,
    pilot: w.pilot,
    vehicle: w.vehicle,
    window: { from: new Date(w.fromMs).toISOString(), to: new Date(w.toMs).toISOString(), fromMs: w.fromMs, toMs: w.toMs },
    generatedAt: new Date(generatedAtMs).toISOString(),
    michiVersion: MICHI_VERSION,
    counts: { readings: rows.state.length, links: rows.link.length, events: rows.event.length, alarmChanges, recordEntries },
    omitted,
  } as const;
  members.push({ name: 'README.txt', data: Buffer.from(readme(head, dir)) });
  const files = members.map((m) => ({ name: m.name, bytes: m.data.byteLength, sha256: sha256(m.data) }));
  const manifest: BundleManifest = { ...head, files };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  members.push({ name: 'manifest.json', data: manifestBytes });
  // sha256sum's format: hash, two spaces (text mode), name.
  const manifestSha256 = sha256(manifestBytes);
  const sums = [...files, { name: 'manifest.json', sha256: manifestSha256 }].map((f) => `${f.sha256}  ${f.name}\n`).join('');
  members.push({ name: 'SHA256SUMS', data: Buffer.from(sums) });
  return { fileName: `${dir}.tar`, archive: ustarArchive(dir, members, generatedAtMs), manifest, manifestSha256 };
}
