// The alarm API, the live feed's alarm messages and the webhooks, end to end against the real cloud
// (InfluxDB, MQTT ingest, SQLite, HTTP, WebSocket): an alarm raised by a gateway's readings is listed,
// pushed to the pilot's operators (never to its viewers, who get only the count the pilot opted in
// to), acknowledged by an operator with a comment (audited with the alarm's id), escalated when left
// unacknowledged, and POSTed, signed, to a webhook receiver configured in the cloud config.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/test-support/index.js';
import type { Alarm, AlarmChange } from '../src/alarms/index.js';
import { alarmSeeds, eventOf } from './alarms-support.js';
import {
  TOKENS,
  apiGet,
  apiPost,
  roundTrip,
  startApiTestCloud,
  watchLive,
  type ApiTestCloud,
  type LiveWatcher,
} from './fixtures/api-support.js';
import { batch, connectGateway, metric, publishBatch, topicOf, vehicleState } from './support.js';

const WEBHOOK_SECRET = 'alarms-api-test-webhook-secret-0123';
const PILOT_PATH = '/pilots/test-town';

interface Delivery {
  event: string;
  signatureValid: boolean;
  change: AlarmChange;
}

let t: ApiTestCloud;
let receiver: http.Server;
const deliveries: Delivery[] = [];
const gateways: MqttClient[] = [];
const watchers: LiveWatcher[] = [];
let seq = 1;

beforeAll(async () => {
  // A receiver as a user would write one: the signature checked over the raw bytes, with node:crypto.
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', WEBHOOK_SECRET).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-michi-signature'] ?? ''));
      deliveries.push({
        event: String(req.headers['x-michi-event']),
        signatureValid: given.length === expected.length && timingSafeEqual(given, expected),
        change: JSON.parse(raw.toString('utf8')) as AlarmChange,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/michi`;
  // test-town lets its viewers see the count and escalates after 1 s; silence rules off, so only what the test raises is open.
  const seedsDir = alarmSeeds({
    viewerCount: true,
    escalateAfterS: 1,
    rules: { 'source-silent': { enabled: false }, 'gateway-silent': { enabled: false } },
  });
  t = await startApiTestCloud(
    {
      seedsDir,
      alarms: {
        tickIntervalMs: 100,
        webhooks: [{ id: 'ops-desk', url, secretEnv: 'MICHI_TEST_ALARM_WEBHOOK', minSeverity: 'info', initialBackoffMs: 100 }],
      },
    },
    { MICHI_TEST_ALARM_WEBHOOK: WEBHOOK_SECRET },
  );
});

afterAll(async () => {
  for (const w of watchers) w.ws.close();
  for (const g of gateways) g.end(true);
  await t?.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function send(gateway: string, item: Parameters<typeof batch>[1][number]): Promise<void> {
  let c = gateways.find((g) => g.options.username === gateway);
  if (!c) gateways.push((c = await connectGateway(t.cloud.mqttPort, gateway)));
  await publishBatch(c, topicOf(gateway), batch(gateway, [item], seq++));
}

async function watch(pilot: string, token: string): Promise<LiveWatcher> {
  const w = await watchLive(t.cloud, pilot, token);
  watchers.push(w);
  return w;
}

/** The `alarm` messages a watcher got: the changes of one alarm, or of one rule. */
function alarmChanges(w: LiveWatcher, match: (a: Alarm) => boolean): AlarmChange[] {
  return w.received.filter((m) => m.type === 'alarm' && match(m.change.alarm)).map((m) => m.change as AlarmChange);
}

function auditLines(): Record<string, unknown>[] {
  return readFileSync(t.auditFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('the alarm API and the live feed', () => {
  let alarm: Alarm;

  it('a vehicle entering minimal-risk mode: its operators get the raised alarm within 2 s, its viewers only the new count', async () => {
    const operator = await watch('test-town', TOKENS.operator);
    const viewer = await watch('test-town', TOKENS.townViewer);
    const otherOperator = await watch('other-town', TOKENS.operator);
    // A viewer of a pilot that opted in is told the count right after the snapshot.
    await waitFor(() => viewer.received.some((m) => m.type === 'alarm-count'), { what: "the viewer's first count" });
    expect(viewer.received.find((m) => m.type === 'alarm-count')).toEqual({ type: 'alarm-count', critical: 0, warning: 0, info: 0 });

    const sentAt = Date.now();
    await send('gw-a', vehicleState('bus-1', sentAt, seq, { mode: 5 })); // MINIMAL_RISK
    const [raised] = await waitFor(
      () => {
        const c = alarmChanges(operator, (a) => a.rule === 'minimal-risk');
        return c.length > 0 && c;
      },
      { timeoutMs: 2_000, what: 'the raised alarm on the operator feed' },
    );
    expect(Date.now() - sentAt).toBeLessThan(2_000);
    expect(raised).toMatchObject({ kind: 'raised', alarm: { pilot: 'test-town', source: 'bus-1', severity: 'critical', state: 'active' } });
    alarm = raised!.alarm;
    expect(alarm.id).toBe(`test-town.bus-1.minimal-risk.${sentAt}`);

    await waitFor(() => viewer.received.some((m) => m.type === 'alarm-count' && m.critical === 1), { what: 'the new count' });
    await Promise.all([roundTrip(viewer.ws), roundTrip(otherOperator.ws)]);
    // What operators are told is not privacy-filtered: no alarm message ever reaches a viewer, nor another pilot's operators.
    expect(viewer.received.filter((m) => m.type === 'alarm')).toEqual([]);
    expect(otherOperator.received.filter((m) => m.type === 'alarm' || m.type === 'alarm-count')).toEqual([]);
  });

  it('lists the open alarm for operators; viewers get 403 on the list, the history and the actions, and the count only if the pilot opted in', async () => {
    const { status, body } = await apiGet(t.cloud, `${PILOT_PATH}/alarms`, TOKENS.operator);
    expect(status).toBe(200);
    expect(body.alarms.find((a: Alarm) => a.id === alarm.id)).toMatchObject({ state: 'active', rule: 'minimal-risk' });

    for (const path of [`${PILOT_PATH}/alarms`, `${PILOT_PATH}/alarms/history`]) {
      const refused = await apiGet(t.cloud, path, TOKENS.townViewer);
      expect(refused.status, path).toBe(403);
      expect(refused.body.error.message).toContain('alarms are for operators');
    }
    const ack = await apiPost(t.cloud, `${PILOT_PATH}/alarms/${alarm.id}/acknowledge`, TOKENS.townViewer, { comment: 'me too' });
    expect(ack.status).toBe(403);

    expect(await apiGet(t.cloud, `${PILOT_PATH}/alarms/count`, TOKENS.townViewer)).toEqual({
      status: 200,
      body: { critical: 1, warning: 0, info: 0 },
    });
    expect((await apiGet(t.cloud, PILOT_PATH, TOKENS.townViewer)).body.alarmViewerCount).toBe(true);
    // other-town did not opt in
    const other = await apiGet(t.cloud, '/pilots/other-town/alarms/count', TOKENS.otherViewer);
    expect(other.status).toBe(403);
    expect(other.body.error.message).toContain('alarms.viewerCount');
    expect((await apiGet(t.cloud, '/pilots/other-town', TOKENS.otherViewer)).body.alarmViewerCount).toBe(false);
  });

  it('an operator acknowledges it with a comment: it stays open as acknowledged, the feed says so within 2 s, the audit line names it', async () => {
    const operator = watchers[0]!;
    const ackPath = `${PILOT_PATH}/alarms/${alarm.id}/acknowledge`;
    // The comment is required, 1…500 characters.
    for (const body of [undefined, {}, { comment: '   ' }, { comment: 'x'.repeat(501) }, { comment: 'ok', extra: 1 }]) {
      const r = await apiPost(t.cloud, ackPath, TOKENS.operator, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('MICHI_ERR_BAD_REQUEST');
    }
    const sentAt = Date.now();
    const { status, body } = await apiPost(t.cloud, ackPath, TOKENS.operator, { comment: 'safety driver confirmed by radio' });
    expect(status).toBe(200);
    expect(body.alarm).toMatchObject({
      id: alarm.id,
      state: 'acknowledged',
      acknowledgedBy: 'ops',
      acknowledgeComment: 'safety driver confirmed by radio',
    });
    await waitFor(() => alarmChanges(operator, (a) => a.id === alarm.id).some((c) => c.kind === 'acknowledged'), {
      timeoutMs: 2_000,
      what: 'the acknowledged change on the feed',
    });
    expect(Date.now() - sentAt).toBeLessThan(2_000);

    const open = (await apiGet(t.cloud, `${PILOT_PATH}/alarms`, TOKENS.operator)).body.alarms as Alarm[];
    expect(open.find((a) => a.id === alarm.id)?.state).toBe('acknowledged');

    const line = await waitFor(
      () => auditLines().find((l) => l['action'] === 'alarm.acknowledge' && l['alarm'] === alarm.id && l['status'] === 200),
      { what: 'the audit line of the acknowledgement' },
    );
    expect(line).toMatchObject({
      token: 'ops',
      role: 'operator',
      method: 'POST',
      pilot: 'test-town',
      comment: 'safety driver confirmed by radio',
    });
    // The viewer's refused attempt is audited too, with the alarm it was about.
    expect(auditLines().some((l) => l['action'] === 'alarm.acknowledge' && l['token'] === 'town-viewer' && l['status'] === 403)).toBe(true);
  });

  it("clears it; acting on a cleared, unknown or other pilot's alarm is 409 or 404; the history keeps it", async () => {
    const clear = await apiPost(t.cloud, `${PILOT_PATH}/alarms/${alarm.id}/clear`, TOKENS.operator, { comment: 'vehicle recovered' });
    expect(clear.status).toBe(200);
    expect(clear.body.alarm).toMatchObject({ id: alarm.id, state: 'cleared', clearedBy: 'ops' });

    const again = await apiPost(t.cloud, `${PILOT_PATH}/alarms/${alarm.id}/acknowledge`, TOKENS.operator, { comment: 'late' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('MICHI_ERR_ALARM_CLEARED');
    const unknown = await apiPost(t.cloud, `${PILOT_PATH}/alarms/test-town.bus-1.takeover.1/clear`, TOKENS.operator);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('MICHI_ERR_NOT_FOUND');
    // The alarm exists, but not in the pilot of the path.
    const elsewhere = await apiPost(t.cloud, `/pilots/other-town/alarms/${alarm.id}/clear`, TOKENS.operator);
    expect(elsewhere.status).toBe(404);

    const history = await apiGet(t.cloud, `${PILOT_PATH}/alarms/history?rule=minimal-risk`, TOKENS.operator);
    expect(history.status).toBe(200);
    expect(history.body.alarms.find((a: Alarm) => a.id === alarm.id)).toMatchObject({ state: 'cleared' });
    const active = await apiGet(t.cloud, `${PILOT_PATH}/alarms/history?rule=minimal-risk&state=active`, TOKENS.operator);
    expect(active.body.alarms.map((a: Alarm) => a.id)).not.toContain(alarm.id);
    const bad = await apiGet(t.cloud, `${PILOT_PATH}/alarms/history?severity=urgent`, TOKENS.operator);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('query parameter "severity"');
    expect((await apiGet(t.cloud, `${PILOT_PATH}/alarms/history?from=0&to=${Date.now()}`, TOKENS.operator)).status).toBe(400);

    expect(await metric(t.cloud.metricsUrl, 'michi_cloud_alarm_actions_total', { action: 'acknowledge', result: 'done' })).toBe(1);
    expect(await metric(t.cloud.metricsUrl, 'michi_cloud_alarm_actions_total', { action: 'acknowledge', result: 'already_cleared' })).toBe(
      1,
    );
  });

  it('an emergency stop left unacknowledged is escalated, and the operators are told', async () => {
    const operator = watchers[0]!;
    await send('gw-b', eventOf(3, 'bus-2', Date.now(), seq));
    const escalated = await waitFor(
      () => alarmChanges(operator, (a) => a.source === 'bus-2' && a.rule === 'emergency-stop').find((c) => c.kind === 'escalated'),
      { timeoutMs: 5_000, what: 'the escalation on the feed' },
    );
    expect(escalated.alarm).toMatchObject({ state: 'active', escalations: 1, severity: 'critical' });
  });
});

describe('webhooks configured in the cloud config', () => {
  it('the raised change reaches the receiver, signed with the secret of alarms.webhooks[].secretEnv', async () => {
    const delivered = await waitFor(() => deliveries.find((d) => d.change.kind === 'raised' && d.change.alarm.rule === 'minimal-risk'), {
      what: 'the raised alarm at the receiver',
    });
    expect(delivered.signatureValid).toBe(true);
    expect(delivered.event).toBe('alarm.raised');
    expect(delivered.change.alarm).toMatchObject({ pilot: 'test-town', source: 'bus-1', severity: 'critical' });
    // The operator's acknowledgement went out too, in order after the raise.
    const ids = deliveries.filter((d) => d.change.alarm.id === delivered.change.alarm.id).map((d) => d.change.kind);
    await waitFor(() => deliveries.some((d) => d.change.alarm.id === delivered.change.alarm.id && d.change.kind === 'cleared'), {
      what: 'the clear at the receiver',
    });
    expect(ids[0]).toBe('raised');
    expect(deliveries.every((d) => d.signatureValid)).toBe(true);
  });
});
