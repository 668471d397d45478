// Alarm webhooks end to end against a real HTTP receiver on 127.0.0.1 and a real SQLite file: what
// a receiver's operator checks. Every notification arrives, in changeId order, once per delivery id
// among the ones it acknowledged, each signed with the shared secret (verified here with node:crypto,
// independently of the sender); a refused one does not block the next; a process killed mid-delivery
// leaves nothing behind; each receiver gets only the pilots, severities and kinds it asked for.
import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../../scripts/test-support/index.js';
import { UNHANDLED_ALARM, type AlarmChange, type AlarmChangeKind, type AlarmSeverity } from '../src/alarms/alarm-change.js';
import { AlarmWebhooksSchema, resolveWebhooks, type ResolvedWebhook } from '../src/alarms/webhook-config.js';
import { WebhookOutbox } from '../src/alarms/webhook-outbox.js';
import { CloudMetrics } from '../src/metrics.js';
import { testLogger } from './support.js';

const SECRET = 'test-webhook-secret-0123456789';
const CHILD = fileURLToPath(new URL('./webhook-outbox-child.ts', import.meta.url));

interface Received {
  path: string;
  delivery: string;
  event: string;
  contentType: string;
  userAgent: string;
  signatureValid: boolean;
  body: AlarmChange;
  atMs: number;
  /** The status the receiver answered (0: it never answered). */
  status: number;
}

/** What the receiver answers to one request: a status (and headers), or 'hang' to never answer. */
type Answer = number | { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A webhook receiver as a user would write one: verifies the signature over the raw body bytes. */
class Receiver {
  readonly received: Received[] = [];
  answer: (r: Received, nth: number) => Answer = () => 200;
  private server: http.Server | undefined;

  async listen(port = 0): Promise<number> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`);
        const given = Buffer.from(String(req.headers['x-michi-signature'] ?? ''));
        const r: Received = {
          path: req.url ?? '',
          delivery: String(req.headers['x-michi-delivery']),
          event: String(req.headers['x-michi-event']),
          contentType: String(req.headers['content-type']),
          userAgent: String(req.headers['user-agent']),
          signatureValid: given.length === expected.length && timingSafeEqual(given, expected),
          body: JSON.parse(raw.toString('utf8')) as AlarmChange,
          atMs: Date.now(),
          status: 0,
        };
        this.received.push(r);
        const answer = this.answer(r, this.received.filter((x) => x.delivery === r.delivery).length);
        if (answer === 'hang') return;
        const { status, headers, body } = typeof answer === 'number' ? { status: answer } : answer;
        r.status = status;
        res.writeHead(status, headers).end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Delivery ids the receiver acknowledged with a 2xx, in arrival order. */
  acknowledged(path?: string): string[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300 && (path === undefined || r.path === path)).map((r) => r.delivery);
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}

function change(changeId: number, opts: { pilot?: string; severity?: AlarmSeverity; kind?: AlarmChangeKind } = {}): AlarmChange {
  const pilot = opts.pilot ?? 'test-town';
  return {
    changeId,
    kind: opts.kind ?? 'raised',
    atMs: 1_765_000_000_000 + changeId,
    alarm: {
      id: `${pilot}/bus-1/low-battery/1765000000000`,
      pilot,
      source: 'bus-1',
      sourceType: 'vehicle',
      rule: 'low-battery',
      severity: opts.severity ?? 'warning',
      state: 'active',
      raisedTsMs: 1_765_000_000_000,
      lastSeenTsMs: 1_765_000_000_000 + changeId,
      count: changeId,
      worstValue: 9.5,
      unit: '%',
      flaps: 0,
      position: { lat: 35.0116, lon: 135.7681 },
      message: 'battery at 9.5 %, below 10 %',
      ...UNHANDLED_ALARM,
    },
  };
}

function webhooks(list: Record<string, unknown>[]): ResolvedWebhook[] {
  return resolveWebhooks(AlarmWebhooksSchema.parse(list), (ref) => (ref === 'env:MICHI_TEST_WEBHOOK_SECRET' ? SECRET : undefined));
}

const ids = (prefix: string, changeIds: number[]): string[] => changeIds.map((n) => `${prefix}-${n}`);

let dir: string;
let db: Database.Database;
let receiver: Receiver;
let metrics: CloudMetrics;
const outboxes: WebhookOutbox[] = [];

function open(list: ResolvedWebhook[], logger: Logger = testLogger): WebhookOutbox {
  const outbox = new WebhookOutbox(db, list, { logger, metrics });
  outboxes.push(outbox);
  return outbox;
}

/** As the alarm store does: the change and its outbox rows in one transaction. */
function commit(outbox: WebhookOutbox, ...changes: AlarmChange[]): void {
  db.transaction(() => {
    for (const c of changes) outbox.enqueue(c);
  })();
}

async function count(result: string, webhook = 'ops'): Promise<number> {
  const m = await metrics.webhookDeliveries.get();
  return m.values.find((v) => v.labels['webhook'] === webhook && v.labels['result'] === result)?.value ?? 0;
}

async function pending(webhook = 'ops'): Promise<number> {
  const m = await metrics.webhookOutboxPending.get();
  return m.values.find((v) => v.labels['webhook'] === webhook)?.value ?? -1;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'michi-webhooks-'));
  db = new Database(join(dir, 'alarms.db'));
  db.pragma('journal_mode = WAL');
  receiver = new Receiver();
  metrics = new CloudMetrics(new Registry(), { defaultMetrics: false });
});

afterEach(async () => {
  await Promise.all(outboxes.splice(0).map((o) => o.close()));
  await receiver.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('alarm webhooks', () => {
  it('deliver every change once, in order and signed, after the receiver was down and then answered 503', async () => {
    const port = await freePort();
    const outbox = open(
      webhooks([
        {
          id: 'ops',
          url: `http://127.0.0.1:${port}/hook`,
          secretEnv: 'MICHI_TEST_WEBHOOK_SECRET',
          initialBackoffMs: 20,
          maxBackoffMs: 200,
        },
      ]),
    );
    const kinds: AlarmChangeKind[] = ['raised', 'updated', 'acknowledged', 'escalated', 'cleared'];
    const sent = kinds.map((kind, i) => change(i + 1, { kind }));
    commit(outbox, ...sent.slice(0, 3));
    outbox.start();

    // Port closed: connection refused, retried.
    await waitFor(async () => (await count('unreachable')) >= 3, { what: 'retries while the receiver is down' });
    expect(receiver.received).toHaveLength(0);
    expect(await pending()).toBe(3);

    // Up, but failing for its first four requests.
    let served = 0;
    receiver.answer = () => (++served <= 4 ? 503 : 200);
    await receiver.listen(port);
    commit(outbox, ...sent.slice(3));

    await waitFor(() => receiver.acknowledged().length === 5, { what: 'five acknowledged deliveries' });
    await waitFor(async () => (await pending()) === 0, { what: 'an empty outbox' });

    expect(receiver.acknowledged()).toEqual(ids('ops', [1, 2, 3, 4, 5]));
    // Head of line: nothing after change 1 was even tried before change 1 was acknowledged.
    expect(receiver.received.slice(0, 5).map((r) => r.delivery)).toEqual(ids('ops', [1, 1, 1, 1, 1]));
    expect(receiver.received.map((r) => r.status)).toEqual([503, 503, 503, 503, 200, 200, 200, 200, 200]);
    for (const r of receiver.received) {
      expect(r.signatureValid, r.delivery).toBe(true);
      expect(r.contentType).toBe('application/json');
      expect(r.userAgent).toBe('michi');
    }
    const acked = receiver.received.filter((r) => r.status === 200);
    expect(acked.map((r) => r.body)).toEqual(sent);
    expect(acked.map((r) => r.event)).toEqual(kinds.map((k) => `alarm.${k}`));
    expect(await count('server_error')).toBe(4);
    expect(await count('delivered')).toBe(5);
  });

  it('give up on a change the receiver refuses (400) and deliver the following ones; honour Retry-After', async () => {
    const port = await receiver.listen();
    receiver.answer = (r, nth) => {
      if (r.body.changeId === 2) return { status: 400, body: 'unknown pilot:\n test-town' };
      if (r.body.changeId === 3 && nth === 1) return { status: 429, headers: { 'retry-after': '1' } };
      return 204;
    };
    const logLines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    const outbox = open(
      webhooks([
        { id: 'ops', url: `http://127.0.0.1:${port}/hook?token=in-query`, secretEnv: 'MICHI_TEST_WEBHOOK_SECRET', initialBackoffMs: 20 },
      ]),
      logger,
    );
    outbox.start();
    commit(outbox, change(1), change(2), change(3), change(4));

    await waitFor(() => receiver.acknowledged().length === 3, { what: 'three acknowledged deliveries' });
    expect(receiver.acknowledged()).toEqual(ids('ops', [1, 3, 4]));
    // Change 2 was sent once: a 400 is final.
    expect(receiver.received.filter((r) => r.delivery === 'ops-2')).toHaveLength(1);
    expect(await count('refused')).toBe(1);
    const refusal = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['delivery'] === 'ops-2');
    expect(refusal).toMatchObject({ level: 40, webhook: 'ops', status: 400, url: `http://127.0.0.1:${port}/hook` });
    expect(logLines.join('')).not.toContain(SECRET);
    expect(logLines.join('')).not.toContain('in-query');
    expect(await count('throttled')).toBe(1);
    const [first429, retried] = receiver.received.filter((r) => r.delivery === 'ops-3');
    // Without Retry-After the retry would have come after 10 to 20 ms.
    expect(retried!.atMs - first429!.atMs).toBeGreaterThanOrEqual(900);
    const rows = db.prepare("SELECT change_id, outcome, last_error FROM webhook_outbox WHERE webhook = 'ops' ORDER BY change_id").all();
    expect(rows).toEqual([
      { change_id: 1, outcome: 'delivered', last_error: '' },
      // What the receiver said, for the operator reading the log or the table.
      { change_id: 2, outcome: 'refused', last_error: 'HTTP 400: unknown pilot: test-town' },
      { change_id: 3, outcome: 'delivered', last_error: '' },
      { change_id: 4, outcome: 'delivered', last_error: '' },
    ]);
  });

  it('send what was pending when the outbox was closed mid-delivery, after it is opened again', async () => {
    const port = await receiver.listen();
    receiver.answer = (r) => (r.body.changeId === 2 ? 'hang' : 200);
    const list = webhooks([
      { id: 'ops', url: `http://127.0.0.1:${port}/hook`, secretEnv: 'MICHI_TEST_WEBHOOK_SECRET', initialBackoffMs: 20 },
    ]);
    const first = open(list);
    first.start();
    commit(first, change(1), change(2), change(3));
    await waitFor(() => receiver.received.some((r) => r.delivery === 'ops-2'), { what: 'change 2 in flight' });
    await first.close(); // aborts the POST in flight
    expect(receiver.acknowledged()).toEqual(ids('ops', [1]));

    receiver.answer = () => 200;
    open(list).start();
    await waitFor(() => receiver.acknowledged().length === 3, { what: 'the pending changes' });
    expect(receiver.acknowledged()).toEqual(ids('ops', [1, 2, 3]));
    expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
  });

  it('send what was pending when the process was killed (kill -9) mid-delivery, after a restart', async () => {
    const port = await receiver.listen();
    receiver.answer = (r) => (r.body.changeId === 3 ? 'hang' : 200);
    const url = `http://127.0.0.1:${port}/hook`;
    // The store commits five changes, then the process that delivers them starts and is killed.
    const list = webhooks([{ id: 'ops', url, secretEnv: 'MICHI_TEST_WEBHOOK_SECRET', initialBackoffMs: 20 }]);
    commit(open(list), ...[1, 2, 3, 4, 5].map((n) => change(n)));
    const child = spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', CHILD], {
      env: { ...process.env, MICHI_TEST_DB: join(dir, 'alarms.db'), MICHI_TEST_URL: url, MICHI_TEST_WEBHOOK_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await waitFor(() => receiver.received.some((r) => r.delivery === 'ops-3'), {
      what: 'change 3 in flight in the child',
      timeoutMs: 30_000,
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(receiver.acknowledged()).toEqual(ids('ops', [1, 2]));

    receiver.answer = () => 200;
    open(list).start();
    await waitFor(() => receiver.acknowledged().length === 5, { what: 'the changes pending at the kill' });
    expect(receiver.acknowledged()).toEqual(ids('ops', [1, 2, 3, 4, 5]));
    // Change 3 arrived twice (at least once); its delivery id is what lets the receiver drop the repeat.
    expect(receiver.received.map((r) => r.delivery)).toEqual(ids('ops', [1, 2, 3, 3, 4, 5]));
    expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
  });

  it('retry a POST the receiver does not answer within timeoutMs', async () => {
    const port = await receiver.listen();
    receiver.answer = (r, nth) => (nth === 1 ? 'hang' : 200);
    const list = webhooks([
      { id: 'ops', url: `http://127.0.0.1:${port}/hook`, secretEnv: 'MICHI_TEST_WEBHOOK_SECRET', timeoutMs: 500, initialBackoffMs: 20 },
    ]);
    const outbox = open(list);
    outbox.start();
    commit(outbox, change(1), change(2));
    await waitFor(() => receiver.acknowledged().length === 2, { what: 'both changes' });
    expect(receiver.received.map((r) => r.delivery)).toEqual(ids('ops', [1, 1, 2, 2]));
    expect(receiver.acknowledged()).toEqual(ids('ops', [1, 2]));
    expect(await count('timeout')).toBe(2);
  });

  it('prune delivered and refused rows after keepDoneMs, never pending ones', async () => {
    const port = await receiver.listen();
    receiver.answer = (r) => (r.body.changeId === 2 ? 410 : 200);
    const closedPort = await freePort();
    const outbox = new WebhookOutbox(
      db,
      webhooks([
        { id: 'ops', url: `http://127.0.0.1:${port}/hook`, secretEnv: 'MICHI_TEST_WEBHOOK_SECRET' },
        { id: 'down', url: `http://127.0.0.1:${closedPort}/hook`, secretEnv: 'MICHI_TEST_WEBHOOK_SECRET', initialBackoffMs: 50 },
      ]),
      { logger: testLogger, metrics, keepDoneMs: 0, pruneEveryMs: 20 },
    );
    outboxes.push(outbox);
    outbox.start();
    commit(outbox, change(1), change(2), change(3));
    await waitFor(() => receiver.received.length === 3, { what: 'three requests' });
    const rows = db.prepare<[], { webhook: string; change_id: number }>(
      'SELECT webhook, change_id FROM webhook_outbox ORDER BY webhook, change_id',
    );
    await waitFor(() => rows.all().every((r) => r.webhook === 'down'), { what: 'the delivered and refused rows pruned' });
    expect(rows.all()).toEqual([1, 2, 3].map((n) => ({ webhook: 'down', change_id: n })));
    expect(await pending('down')).toBe(3);
  });

  it('route by pilot, minimum severity and kind', async () => {
    const port = await receiver.listen();
    const base = `http://127.0.0.1:${port}`;
    const outbox = open(
      webhooks([
        { id: 'town-a', url: `${base}/a`, secretEnv: 'MICHI_TEST_WEBHOOK_SECRET', pilots: ['town-a'] },
        {
          id: 'critical',
          url: `${base}/c`,
          secretEnv: 'MICHI_TEST_WEBHOOK_SECRET',
          minSeverity: 'critical',
          kinds: ['raised', 'escalated'],
        },
        { id: 'all', url: `${base}/all`, secretEnv: 'MICHI_TEST_WEBHOOK_SECRET', pilots: ['*'], minSeverity: 'info' },
      ]),
    );
    outbox.start();
    commit(
      outbox,
      change(1, { pilot: 'town-a', severity: 'warning' }),
      change(2, { pilot: 'town-b', severity: 'critical' }),
      change(3, { pilot: 'town-a', severity: 'info' }),
      change(4, { pilot: 'town-a', severity: 'critical', kind: 'cleared' }),
      change(5, { pilot: 'town-b', severity: 'warning' }),
      change(6, { pilot: 'town-a', severity: 'critical', kind: 'escalated' }),
    );
    await waitFor(() => receiver.acknowledged('/all').length === 6, { what: 'every change at /all' });
    await waitFor(async () => (await pending('town-a')) === 0 && (await pending('critical')) === 0, { what: 'the other outboxes empty' });
    expect(receiver.acknowledged('/a')).toEqual(ids('town-a', [1, 4, 6]));
    expect(receiver.acknowledged('/c')).toEqual(ids('critical', [2, 6]));
    expect(receiver.acknowledged('/all')).toEqual(ids('all', [1, 2, 3, 4, 5, 6]));
  });
});
