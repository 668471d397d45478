// The generated OpenAPI document against what the API really sends: every route is called, as an
// operator and as a viewer of a privacy-filtered pilot, with data in a real InfluxDB, and each body
// is validated with Ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect) against the document's schema
// for that path, method and status; a call to a path the document lacks fails, and so does a
// documented path no call reached. The document also passes swagger-cli and Redocly's linter.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '../../scripts/test-support/index.js';
import { alarmSeeds, eventOf } from './alarms-support.js';
import { RANGE } from './fixtures/api-fixture.js';
import { TOKENS, apiGet, apiPost, startApiTestCloud, watchLive, type ApiTestCloud } from './fixtures/api-support.js';
import { batch, connectGateway, publishBatch, topicOf, vehicleState } from './support.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');

type Json = Record<string, unknown>;
let t: ApiTestCloud;
let doc: Json & { paths: Record<string, Record<string, { operationId: string; responses: Record<string, Json> }>>; components: Json };
/** Documented "METHOD path" → statuses seen. */
const covered = new Map<string, Set<number>>();

beforeAll(async () => {
  // test-town shows viewers the alarm count; the silence rules are off, so only the test's alarms are open.
  const seedsDir = alarmSeeds({ viewerCount: true, rules: { 'source-silent': { enabled: false }, 'gateway-silent': { enabled: false } } });
  t = await startApiTestCloud({ seedsDir });
  doc = (await apiGet(t.cloud, '/openapi.json')).body;
});

afterAll(async () => {
  await t?.close();
});

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

/** The document's path template that `path` (no query) matches, e.g. /api/v1/pilots/{pilot}/tracks. */
function templateOf(path: string): string | undefined {
  return Object.keys(doc.paths).find((tpl) => new RegExp(`^${tpl.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
}

/** A response that is not JSON, by its media type. */
class BinaryBody {
  constructor(readonly contentType: string) {}
}

/** Validates `body` against the document's schema of `method` `path` at `status`; records the route as covered. */
function expectDocumented(path: string, status: number, body: unknown, method: 'GET' | 'POST' = 'GET'): void {
  const tpl = templateOf(path.split('?')[0]!);
  expect(tpl, `${path} is not in the OpenAPI document`).toBeDefined();
  const op = doc.paths[tpl!]![method.toLowerCase()];
  expect(op, `${method} ${tpl} is not in the OpenAPI document`).toBeDefined();
  const response = op!.responses[String(status)] as { content?: Record<string, { schema?: Json }> } | undefined;
  expect(response, `${method} ${tpl} does not document status ${status}`).toBeDefined();
  if (body instanceof BinaryBody) {
    // A binary body (an archive): its media type must be the documented one.
    expect(Object.keys(response!.content ?? {}), `${method} ${tpl} ${status}`).toEqual([body.contentType]);
  } else {
    // A text body (the report's CSV) is documented as a string of its media type.
    const media = typeof body === 'string' ? Object.keys(response!.content ?? {}).find((m) => m.startsWith('text/')) : 'application/json';
    const schema = media === undefined ? undefined : response!.content?.[media]?.schema;
    expect(schema, `${method} ${tpl} ${status} has no ${typeof body === 'string' ? 'text/*' : 'application/json'} schema`).toBeDefined();
    // The document as the root, so that #/components/schemas/… references resolve.
    const validate = ajv.compile({ ...schema, components: doc.components });
    const ok = validate(body);
    expect(ok, `${method} ${path} → ${status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  }
  let seen = covered.get(`${method} ${tpl}`);
  if (!seen) covered.set(`${method} ${tpl}`, (seen = new Set()));
  seen.add(status);
}

/** Validates `body` against the document's request body schema of POST `path`. */
function expectDocumentedRequest(path: string, body: unknown): void {
  const op = doc.paths[templateOf(path)!]!['post'] as unknown as { requestBody?: { content: Record<string, { schema: Json }> } };
  const schema = op.requestBody?.content['application/json']?.schema;
  expect(schema, `POST ${path} documents no JSON request body`).toBeDefined();
  const validate = ajv.compile({ ...schema, components: doc.components });
  expect(validate(body), `POST ${path} request: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

async function call(path: string, token: string | undefined, expected: number): Promise<unknown> {
  const { status, body } = await apiGet(t.cloud, path, token);
  expect(status, `GET ${path}: ${JSON.stringify(body).slice(0, 300)}`).toBe(expected);
  expectDocumented(`/api/v1${path}`, status, body);
  return body;
}

async function post(path: string, token: string | undefined, body: unknown, expected: number): Promise<unknown> {
  if (expected === 200) expectDocumentedRequest(`/api/v1${path}`, body);
  const res = await apiPost(t.cloud, path, token, body);
  expect(res.status, `POST ${path}: ${JSON.stringify(res.body).slice(0, 300)}`).toBe(expected);
  expectDocumented(`/api/v1${path}`, res.status, res.body, 'POST');
  return res.body;
}

/** The first message after the snapshot of a live connection that `match`es, once `trigger` has run. */
async function liveMessage(pilot: string, token: string, match: (m: Json) => boolean, trigger: () => Promise<void>): Promise<Json> {
  const w = await watchLive(t.cloud, pilot, token);
  try {
    await trigger();
    return await waitFor(() => w.received.find((m: Json) => m['type'] !== 'snapshot' && match(m)) as Json | undefined, {
      timeoutMs: 5_000,
      what: 'the live message',
    });
  } finally {
    w.ws.close();
  }
}

let seq = 1;
/** A takeover of bus-1 (a warning alarm), published as gateway gw-a. */
async function raiseTakeover(): Promise<void> {
  const gw = await connectGateway(t.cloud.mqttPort, 'gw-a');
  try {
    await publishBatch(gw, topicOf('gw-a'), batch('gw-a', [eventOf(1, 'bus-1', Date.now(), seq)], seq));
    seq++;
  } finally {
    gw.end(true);
  }
}

const range = `from=${RANGE.from}&to=${RANGE.to}`;
const PILOT_ROUTES = [
  '',
  '/vehicles',
  '/sensors',
  `/tracks?${range}`,
  `/links?${range}&maxPoints=10`,
  `/events?${range}`,
  `/kpis?${range}`,
  `/coverage?${range}&res=8`,
  `/report?${range}`,
  `/report?${range}&format=csv&lang=en`,
];

describe('every route answers as its OpenAPI document says', () => {
  it('public routes: health and the document itself', async () => {
    await call('/health', undefined, 200);
    await call('/openapi.json', undefined, 200);
  });

  it('as an operator, every route of both pilots, with data', async () => {
    await call('/me', TOKENS.operator, 200);
    const { pilots } = (await call('/pilots', TOKENS.operator, 200)) as { pilots: unknown[] };
    expect(pilots.length).toBe(2);
    for (const pilot of ['test-town', 'other-town']) {
      for (const route of PILOT_ROUTES) await call(`/pilots/${pilot}${route}`, TOKENS.operator, 200);
      await call(`/pilots/${pilot}/completeness?${range}`, TOKENS.operator, 200);
    }
    // The fixture's data is there: a schema that matched only empty lists would prove little.
    const tracks = (await call(`/pilots/test-town/tracks?${range}`, TOKENS.operator, 200)) as { tracks: unknown[] };
    expect(tracks.tracks.length).toBeGreaterThan(0);
    const events = (await call(`/pilots/test-town/events?${range}`, TOKENS.operator, 200)) as { events: unknown[] };
    expect(events.events.length).toBeGreaterThan(0);
    const vehicles = (await call('/pilots/test-town/vehicles', TOKENS.operator, 200)) as { vehicles: { state: unknown }[] };
    expect(vehicles.vehicles.some((v) => v.state !== null)).toBe(true);
  });

  it('as viewers, privacy-filtered (other-town hides ids, delays and coarsens positions)', async () => {
    await call('/me', TOKENS.otherViewer, 200);
    await call('/pilots', TOKENS.otherViewer, 200);
    for (const route of PILOT_ROUTES) {
      await call(`/pilots/other-town${route}`, TOKENS.otherViewer, 200);
      await call(`/pilots/test-town${route}`, TOKENS.townViewer, 200);
    }
    const detail = (await call('/pilots/other-town', TOKENS.otherViewer, 200)) as Json;
    expect(detail['gateways']).toBeUndefined();
    // completeness is for operators
    await call(`/pilots/other-town/completeness?${range}`, TOKENS.otherViewer, 403);
  });

  it('refusals carry the documented error body', async () => {
    await call('/me', undefined, 401);
    await call('/pilots/test-town/vehicles', 'wrong-token-0123456789', 401);
    await call('/pilots/test-town', TOKENS.otherViewer, 403);
    await call('/pilots/no-such-town/vehicles', TOKENS.operator, 404);
    await call('/pilots/test-town/tracks?maxPoints=1', TOKENS.operator, 400);
    await call(`/pilots/test-town/events?type=NOPE`, TOKENS.operator, 400);
    await call(`/pilots/test-town/report?format=xlsx`, TOKENS.operator, 400);
    const body = (await call(`/pilots/test-town/kpis?from=${RANGE.to}&to=${RANGE.from}`, TOKENS.operator, 400)) as Json;
    expect(body).toEqual({ error: { code: 'MICHI_ERR_BAD_REQUEST', message: expect.stringContaining('query parameter "from"') } });
  });

  it('the operating-state record: entries of a state published as a gateway (operators only)', async () => {
    const gw = await connectGateway(t.cloud.mqttPort, 'gw-a');
    await publishBatch(gw, topicOf('gw-a'), batch('gw-a', [vehicleState('bus-1', Date.now() - 1_000, 1)])).finally(() => gw.end(true));
    const records = (await call('/pilots/test-town/records?vehicle=bus-1', TOKENS.operator, 200)) as { entries: unknown[] };
    expect(records.entries.length).toBe(1);
    await call('/pilots/test-town/records', TOKENS.townViewer, 403);
    await call('/pilots/test-town/records?vehicle=no-such-bus', TOKENS.operator, 400);
  });

  it.each(['/api/v1/live?pilot=test-town', '/api/v1/pilots/test-town/live'])(
    'the live feed %s: a 101, then messages of the documented LiveMessage schema',
    async (path) => {
      const ws = new WebSocket(`${t.cloud.url.replace(/^http/, 'ws')}${path}`, ['michi.v1', `bearer.${TOKENS.operator}`]);
      const upgraded = new Promise<number>((resolve) => ws.once('upgrade', (res) => resolve(res.statusCode ?? 0)));
      const first = await new Promise<unknown>((resolve, reject) => {
        ws.once('message', (data) => resolve(JSON.parse(String(data))));
        ws.once('error', reject);
      });
      ws.close();
      const status = await upgraded;
      expect(status).toBe(101);
      // The 101's schema is that of each text frame.
      expectDocumented(path, 101, first);
      expect((first as Json)['type']).toBe('snapshot');
    },
  );

  it('alarms: operators list, count, acknowledge and clear; viewers get the count where the pilot opted in; the live messages', async () => {
    const path = '/api/v1/live?pilot=test-town';
    const raised = await liveMessage('test-town', TOKENS.operator, (m) => m['type'] === 'alarm', raiseTakeover);
    expectDocumented(path, 101, raised);
    const count = await liveMessage(
      'test-town',
      TOKENS.townViewer,
      (m) => m['type'] === 'alarm-count',
      async () => {},
    );
    expectDocumented(path, 101, count);
    expect(count).toMatchObject({ warning: 1 });

    const { alarms } = (await call('/pilots/test-town/alarms', TOKENS.operator, 200)) as { alarms: { id: string }[] };
    expect(alarms.length).toBe(1);
    const id = alarms[0]!.id;
    await call('/pilots/other-town/alarms', TOKENS.operator, 200);
    await call(`/pilots/test-town/alarms/history?${range}&rule=takeover&limit=10`, TOKENS.operator, 200);
    await call('/pilots/test-town/alarms/count', TOKENS.operator, 200);
    await call('/pilots/test-town/alarms/count', TOKENS.townViewer, 200);
    await call('/pilots/other-town/alarms/count', TOKENS.otherViewer, 403);
    await call('/pilots/test-town/alarms', TOKENS.townViewer, 403);
    await call('/pilots/test-town/alarms/history?limit=0', TOKENS.operator, 400);

    const alarmPath = `/pilots/test-town/alarms/${id}`;
    await post(`${alarmPath}/acknowledge`, TOKENS.operator, {}, 400);
    await post(`${alarmPath}/acknowledge`, TOKENS.townViewer, { comment: 'seen' }, 403);
    await post(`${alarmPath}/acknowledge`, TOKENS.operator, { comment: 'seen on the remote monitor' }, 200);
    await post(`${alarmPath}/clear`, TOKENS.operator, { comment: 'driver back in autonomous mode' }, 200);
    await post(`${alarmPath}/clear`, TOKENS.operator, {}, 409);
    await post('/pilots/test-town/alarms/test-town.bus-9.takeover.1/clear', TOKENS.operator, {}, 404);
    const history = (await call(`/pilots/test-town/alarms/history?state=cleared`, TOKENS.operator, 200)) as { alarms: unknown[] };
    expect(history.alarms.length).toBe(1);
  });

  it('incident bundles: an operator gets a tar archive; viewers, unknown vehicles and long windows are refused', async () => {
    const path = '/pilots/test-town/incident-bundles';
    const body = { vehicle: 'bus-1', from: RANGE.from, to: RANGE.from + 600_000 };
    expectDocumentedRequest(`/api/v1${path}`, body);
    const res = await fetch(`${t.cloud.url}/api/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.operator}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength % 512).toBe(0);
    expectDocumented(`/api/v1${path}`, 200, new BinaryBody(res.headers.get('content-type')!), 'POST');
    await post(path, TOKENS.townViewer, body, 403);
    await post(path, TOKENS.operator, { ...body, vehicle: 'bus-9' }, 400);
    await post(path, TOKENS.operator, { ...body, to: body.from + 3_600_001 }, 400);
    await post('/pilots/no-such-town/incident-bundles', TOKENS.operator, body, 404);
  });

  it('documents nothing that no call reached, and every operation once with an operationId', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    expect([...covered.keys()].sort()).toEqual(documented.sort());
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the document passes the OpenAPI tools', () => {
  let file: string;
  beforeAll(() => {
    file = join(mkdtempSync(join(tmpdir(), 'michi-openapi-')), 'openapi.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
  });

  it('swagger-cli validate', async () => {
    const { stdout } = await run(join(BIN, 'swagger-cli'), ['validate', file]);
    expect(stdout).toContain('is valid');
  });

  it('redocly lint, without errors or warnings', async () => {
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
    const out = await run(join(BIN, 'redocly'), ['lint', file, '--config', join(ROOT, 'cloud', 'redocly.yaml'), '--format', 'json'], {
      env,
    }).catch((err: { stdout: string; stderr: string }) => err);
    const report = JSON.parse(out.stdout) as { totals: { errors: number; warnings: number }; problems: { message: string }[] };
    expect(report.problems.map((p) => p.message)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});
