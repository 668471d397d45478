// Incident bundles against the real cloud: readings published over MQTT as a gateway into a real
// InfluxDB, a takeover that raises an alarm in the SQLite store; then a bundle over the API and one
// from `michi-cloud incident-bundle`, each unpacked with GNU tar and checked as an investigator
// would: sha256sum -c, every manifest hash, readings.csv against what InfluxDB answers directly,
// recording.mcap read by Foxglove's MCAP reader and decoded with a protobuf runtime built only from
// the schema inside the file. Viewers are refused; the audit log names vehicle and window.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { McapIndexedReader } from '@mcap/core';
import type { MqttClient } from 'mqtt';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxDb, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import { startCloud, type CloudService } from '../src/cloud-service.js';
import { loadCloudConfig } from '../src/config.js';
import {
  API_TOKENS,
  PILOT,
  SECRET_ENV,
  TEST_AUTH,
  batch,
  cloudConfigFile,
  connectGateway,
  linkSample,
  metric,
  publishBatch,
  takeover,
  testLogger,
  topicOf,
  vehicleState,
} from './support.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

let influx: InfluxHandle;
let cloud: CloudService;
let configFile: string;
let auditFile: string;
const clients: MqttClient[] = [];
/** Source time of the first reading: recent, so the alarm the takeover raises (cloud time) falls in the windows too. */
const BASE = Date.now() - 90_000;
const TAKEOVER_AT = BASE + 30_000;

beforeAll(async () => {
  influx = await startInfluxDb();
  auditFile = join(mkdtempSync(join(tmpdir(), 'michi-bundle-audit-')), 'audit.jsonl');
  // The takeover is 60 s old when it arrives: not late for the alarm rules, which then raise an alarm.
  configFile = cloudConfigFile(influx.url, { auth: { ...TEST_AUTH, auditFile }, alarms: { lateAfterS: 600 } });
  cloud = await startCloud(loadCloudConfig(configFile, SECRET_ENV), { logger: testLogger });
  const gwA = await connectGateway(cloud.mqttPort, 'gw-a');
  const gwB = await connectGateway(cloud.mqttPort, 'gw-b');
  clients.push(gwA, gwB);
  // bus-1: 120 states every 500 ms with changing speed, mode and a signal; 30 link samples; a
  // takeover whose detail needs CSV quoting. bus-2 (another gateway) must stay out of bus-1's bundle.
  const items = [];
  for (let i = 0; i < 120; i++) {
    items.push(
      vehicleState('bus-1', BASE + i * 500, i + 1, {
        speed_mps: i * 0.125,
        mode: i < 60 ? 2 : 3,
        signals: { 'Vehicle.Cabin.Door.Row1.IsOpen': i % 2, 'Vehicle.Powertrain.TractionBattery.StateOfCharge.Current': 80 - i / 7 },
      }),
    );
  }
  for (let i = 0; i < 30; i++) items.push(linkSample('bus-1', BASE + i * 2_000 + 250, 200 + i));
  items.push(takeover('bus-1', TAKEOVER_AT, 300));
  // Acknowledged only once InfluxDB took the write.
  await publishBatch(gwA, topicOf('gw-a'), batch('gw-a', items));
  const other = Array.from({ length: 30 }, (_, i) => vehicleState('bus-2', BASE + i * 1_000, i + 1));
  await publishBatch(gwB, topicOf('gw-b'), batch('gw-b', other));
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cloud?.close();
  await influx?.stop();
});

/** RFC 4180: fields, quoted ones with "" for a quote and line breaks inside. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      row.push(cell);
      cell = '';
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else {
      cell += c;
    }
  }
  return rows;
}

/** What InfluxDB holds for bus-1 in the window, asked directly, as rows keyed by column. */
async function stored(measurement: string, fromMs: number, toMs: number): Promise<Record<string, unknown>[]> {
  const rows = await influx.rows(
    `SELECT * FROM "${measurement}" WHERE pilot = '${PILOT}' AND source = 'bus-1' AND time >= ${fromMs}ms AND time <= ${toMs}ms`,
    { epoch: 'ms' },
  );
  return rows.sort((a, b) => Number(a['time']) - Number(b['time']));
}

/** The CSV's rows equal InfluxDB's: same count and order, every stored value in its column as text, nothing else filled. */
function expectCsvMatches(csv: Buffer, rows: Record<string, unknown>[]): void {
  expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const [header, ...lines] = parseCsv(csv.subarray(3).toString('utf8'));
  expect(lines).toHaveLength(rows.length);
  lines.forEach((line, i) => {
    const row = rows[i]!;
    const cells = Object.fromEntries(header!.map((h, k) => [h, line[k]]));
    expect(cells['time_ms']).toBe(String(row['time']));
    expect(cells['time']).toBe(new Date(Number(row['time'])).toISOString());
    for (const [column, value] of Object.entries(row)) {
      if (column === 'time') continue;
      expect(cells[column], `row ${i} column ${column}`).toBe(value === null ? '' : String(value));
    }
    for (const column of header!) if (!(column in row) && column !== 'time_ms') expect(cells[column], `row ${i} column ${column}`).toBe('');
  });
}

/** Unpacks with GNU tar; the bundle's directory. */
function untar(archive: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'michi-bundle-'));
  writeFileSync(join(dir, 'bundle.tar'), archive);
  const r = spawnSync('tar', ['-xf', 'bundle.tar'], { cwd: dir, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const inner = readdirSync(dir).filter((n) => n !== 'bundle.tar');
  expect(inner).toHaveLength(1);
  return join(dir, inner[0]!);
}

interface Manifest {
  pilot: string;
  vehicle: string;
  window: { fromMs: number; toMs: number };
  counts: Record<string, number | null>;
  omitted: Record<string, string>;
  files: { name: string; bytes: number; sha256: string }[];
}

/** Every file listed with its size and hash, sha256sum -c agreeing; the manifest. */
function checkHashes(dir: string): Manifest {
  const sums = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' });
  expect(sums.status, sums.stdout + sums.stderr).toBe(0);
  expect(
    sums.stdout
      .trim()
      .split('\n')
      .every((l) => l.endsWith(': OK')),
  ).toBe(true);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const onDisk = readdirSync(dir).sort();
  expect(onDisk).toEqual([...manifest.files.map((f) => f.name), 'SHA256SUMS', 'manifest.json'].sort());
  for (const f of manifest.files) {
    const data = readFileSync(join(dir, f.name));
    expect(data.byteLength, f.name).toBe(f.bytes);
    expect(createHash('sha256').update(data).digest('hex'), f.name).toBe(f.sha256);
  }
  return manifest;
}

/** Reads recording.mcap with @mcap/core's indexed reader (Foxglove's) and decodes each message with the file's own schema. */
async function readRecording(
  file: string,
): Promise<{ topic: string; schema: string; logTimeMs: number; message: Record<string, unknown> }[]> {
  const bytes = readFileSync(file);
  const reader = await McapIndexedReader.Initialize({
    readable: {
      size: async () => BigInt(bytes.byteLength),
      read: async (offset, size) => bytes.subarray(Number(offset), Number(offset + size)),
    },
  });
  const { FileDescriptorSet } = descriptor as unknown as { FileDescriptorSet: protobuf.Type };
  const types = new Map<number, protobuf.Type>();
  for (const [id, schema] of reader.schemasById) {
    expect(schema.encoding).toBe('protobuf');
    const root = (protobuf.Root as unknown as { fromDescriptor(d: unknown): protobuf.Root }).fromDescriptor(
      FileDescriptorSet.decode(schema.data),
    );
    types.set(id, root.lookupType(schema.name));
  }
  const out = [];
  for await (const m of reader.readMessages()) {
    const channel = reader.channelsById.get(m.channelId)!;
    expect(channel.messageEncoding).toBe('protobuf');
    const type = types.get(channel.schemaId)!;
    out.push({
      topic: channel.topic,
      schema: type.fullName.slice(1),
      logTimeMs: Number(m.logTime / 1_000_000n),
      message: type.toObject(type.decode(m.data), { longs: Number, enums: String }),
    });
  }
  return out;
}

function auditLines(): Record<string, unknown>[] {
  if (!existsSync(auditFile)) return [];
  return readFileSync(auditFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function postBundle(token: string, body: unknown): Promise<Response> {
  return fetch(`${cloud.url}/api/v1/pilots/${PILOT}/incident-bundles`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('POST /api/v1/pilots/:pilot/incident-bundles', () => {
  const from = BASE + 5_000;
  const to = BASE + 180_000;

  it('answers one tar archive whose files match their hashes, InfluxDB and the alarm store', async () => {
    const res = await postBundle(API_TOKENS.operator, { vehicle: 'bus-1', from, to });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="incident-bus-1-\d{8}T\d{6}Z\.tar"$/);
    const dir = untar(Buffer.from(await res.arrayBuffer()));
    const manifest = checkHashes(dir);
    expect(manifest).toMatchObject({ pilot: PILOT, vehicle: 'bus-1', window: { fromMs: from, toMs: to } });
    expect(manifest.omitted).toEqual({});

    const states = await stored('vehicle_state', from, to);
    expect(states).toHaveLength(110); // readings 10…119
    expect(manifest.counts['readings']).toBe(110);
    expectCsvMatches(readFileSync(join(dir, 'readings.csv')), states);
    const links = await stored('link_sample', from, to);
    expect(links).toHaveLength(27); // samples 3…29
    expectCsvMatches(readFileSync(join(dir, 'links.csv')), links);
    const events = await stored('event', from, to);
    expect(events).toHaveLength(1);
    expectCsvMatches(readFileSync(join(dir, 'events.csv')), events);

    const alarms = JSON.parse(readFileSync(join(dir, 'alarms.json'), 'utf8')) as { changes: { alarm: { rule: string; source: string } }[] };
    const history = cloud.alarms!.store.history(PILOT, { fromMs: from, toMs: to + 1, source: 'bus-1' }).reverse();
    expect(history.map((c) => c.alarm.rule)).toContain('takeover');
    expect(alarms.changes).toEqual(history);

    // The record's entries of the window (bus-1 went from autonomous to manual, then the takeover),
    // checked as docs/records.md tells a verifier to: jq -cS gives the canonical form, whose SHA-256
    // is the entry's hash; the first entry links to the proof's prevHash, each next one to the one before.
    const records = readFileSync(join(dir, 'records.jsonl'), 'utf8').trim().split('\n');
    const proof = JSON.parse(readFileSync(join(dir, 'records-proof.json'), 'utf8')) as { prevHash: string; hashes: string[] };
    const kinds: string[] = [];
    let before = proof.prevHash;
    records.forEach((line, i) => {
      const canonical = spawnSync('jq', ['-cjS', '.entry'], { input: line, encoding: 'utf8' }).stdout;
      const { hash, entry } = JSON.parse(line) as { hash: string; entry: { prevHash: string; kind: string; vehicle: string } };
      expect(createHash('sha256').update(canonical).digest('hex')).toBe(hash);
      expect(proof.hashes[i]).toBe(hash);
      expect(entry.prevHash).toBe(before);
      expect(entry.vehicle).toBe('bus-1');
      kinds.push(entry.kind);
      before = hash;
    });
    expect(kinds).toEqual(expect.arrayContaining(['mode-change', 'takeover']));
    const recorded = cloud.records!.store.entries({ pilot: PILOT, vehicle: 'bus-1', fromMs: from, toMs: to });
    expect(records.map((l) => (JSON.parse(l) as { hash: string }).hash)).toEqual(recorded.map((e) => e.hash));
    expect(manifest.counts['recordEntries']).toBe(recorded.length);
  });

  it('holds the readings as michi.v1 protobuf messages that Foxglove’s MCAP reader reads, on the simulator’s topics', async () => {
    const res = await postBundle(API_TOKENS.operator, { vehicle: 'bus-1', from, to });
    const dir = untar(Buffer.from(await res.arrayBuffer()));
    const messages = await readRecording(join(dir, 'recording.mcap'));
    expect(messages).toHaveLength(110 + 27 + 1);
    expect(messages.map((m) => m.logTimeMs)).toEqual(messages.map((m) => m.logTimeMs).sort((a, b) => a - b));
    const states = messages.filter((m) => m.topic === `michi/v1/${PILOT}/gw-a/bus-1/state`);
    expect(states).toHaveLength(110);
    expect(states.every((m) => m.schema === 'michi.v1.VehicleState')).toBe(true);
    const rows = await stored('vehicle_state', from, to);
    states.forEach((m, i) => {
      expect(m.logTimeMs).toBe(rows[i]!['time']);
      // protobufjs names fields in camel case when it builds types from a descriptor.
      expect(m.message['speedMps'] ?? 0).toBe(rows[i]!['speed_mps']);
      expect(m.message['mode']).toBe(`AUTONOMY_MODE_${String(rows[i]!['mode'])}`);
      expect((m.message['signals'] as Record<string, number>)['Vehicle.Cabin.Door.Row1.IsOpen'] ?? 0).toBe(
        rows[i]!['sig.Vehicle.Cabin.Door.Row1.IsOpen'],
      );
    });
    const [event] = messages.filter((m) => m.schema === 'michi.v1.Event');
    expect(event).toMatchObject({
      topic: `michi/v1/${PILOT}/gw-a/bus-1/event`,
      logTimeMs: TAKEOVER_AT,
      message: { type: 'EVENT_TYPE_TAKEOVER' },
    });
    expect(messages.filter((m) => m.schema === 'michi.v1.LinkSample')).toHaveLength(27);
  });

  it('refuses viewers (403), unknown vehicles and windows over an hour (400), and audits each with vehicle and window', async () => {
    const viewer = await postBundle(API_TOKENS.viewer, { vehicle: 'bus-1', from, to });
    expect(viewer.status).toBe(403);
    const long = await postBundle(API_TOKENS.operator, { vehicle: 'bus-1', from, to: from + 3_600_001 });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: { message: string } }).error.message).toMatch(/at most 60 min/);
    const unknown = await postBundle(API_TOKENS.operator, { vehicle: 'bus-9', from, to });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/no vehicle "bus-9"/);
    const window = `${new Date(from).toISOString()}/${new Date(to).toISOString()}`;
    // The audit line is written once the response is sent: wait for the last one.
    await waitFor(() => auditLines().some((l) => l['status'] === 400 && l['vehicle'] === 'bus-9'), {
      what: 'the audit line of the last refusal',
    });
    const lines = auditLines().filter((l) => l['action'] === 'incident-bundle');
    expect(lines).toContainEqual(expect.objectContaining({ token: 'test-operator', status: 200, vehicle: 'bus-1', window, pilot: PILOT }));
    expect(lines).toContainEqual(expect.objectContaining({ token: 'test-town-viewer', status: 403, vehicle: 'bus-1', window }));
    expect(lines).toContainEqual(expect.objectContaining({ status: 400, vehicle: 'bus-9' }));
    expect(await metric(cloud.metricsUrl, 'michi_cloud_incident_bundles_total', { result: 'bad_window' })).toBe(1);
    expect(await metric(cloud.metricsUrl, 'michi_cloud_incident_bundles_total', { result: 'unknown_vehicle' })).toBe(1);
    expect(await metric(cloud.metricsUrl, 'michi_cloud_incident_bundles_total', { result: 'written' })).toBe(2);
  });
});

describe('michi-cloud incident-bundle', () => {
  /** `michi-cloud incident-bundle` of the test pilot with the test's configuration, and `args`. */
  function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    const cli = [MAIN, 'incident-bundle', '--config', configFile, '--pilot', PILOT, ...args];
    const child = spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', ...cli], {
      env: { ...process.env, ...SECRET_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
  }

  it('writes the same kind of archive around a moment, audited with the operating-system user', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'michi-bundle-cli-')), 'incident.tar');
    const at = new Date(TAKEOVER_AT).toISOString();
    const r = await run(['--vehicle', 'bus-1', '--at', at, '--before', '20s', '--after', '150s', '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const archive = readFileSync(out);
    expect(r.out).toContain(`sha256 of the archive:       ${createHash('sha256').update(archive).digest('hex')}`);
    const dir = untar(archive);
    const manifest = checkHashes(dir);
    const from = TAKEOVER_AT - 20_000;
    const to = TAKEOVER_AT + 150_000;
    expect(manifest.window).toMatchObject({ fromMs: from, toMs: to });
    expect(r.out).toContain(
      `sha256 of its manifest.json: ${createHash('sha256')
        .update(readFileSync(join(dir, 'manifest.json')))
        .digest('hex')}`,
    );
    const states = await stored('vehicle_state', from, to);
    expect(states).toHaveLength(100); // readings 20…119
    expectCsvMatches(readFileSync(join(dir, 'readings.csv')), states);
    expect(await readRecording(join(dir, 'recording.mcap'))).toHaveLength(100 + 25 + 1);
    expect(auditLines()).toContainEqual(
      expect.objectContaining({
        method: 'CLI',
        action: 'incident-bundle',
        vehicle: 'bus-1',
        window: `${new Date(from).toISOString()}/${new Date(to).toISOString()}`,
        status: 200,
      }),
    );
  });

  it('exits 2 saying why for a window over an hour or a vehicle the pilot does not have', async () => {
    const long = await run(['--vehicle', 'bus-1', '--at', String(TAKEOVER_AT), '--before', '31m', '--after', '30m']);
    expect(long.code).toBe(2);
    expect(long.err).toMatch(/at most 60 min/);
    const unknown = await run(['--vehicle', 'bus-9', '--at', String(TAKEOVER_AT)]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no vehicle "bus-9" in pilot "test-town"; its vehicles: bus-1, bus-2/);
  });
});
