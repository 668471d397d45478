// Penetration-test findings 10, 6 and 11 (the log part) against the cloud's MQTT ingest, run as an
// operator runs it (michi-cloud as a child process, its log on stdout, a real InfluxDB): each test
// performs the attack over raw sockets (scripts/test-support/mqtt-attacks.ts) and checks what the
// operator would: the process's memory (/proc/<pid>/status), its log, and that gateways still work.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, scratchDatabases, startInfluxDb, waitFor, type InfluxHandle } from '../../scripts/test-support/index.js';
import {
  closedWithin,
  failedLoginFlood,
  openIdleSockets,
  oversizedConnect,
  rawConnect,
  rssBytes,
} from '../../scripts/test-support/mqtt-attacks.js';
import { connectGateway, FIXTURE_SEEDS, SECRET_ENV, SECRETS, TEST_AUTH } from './support.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const MiB = 1024 * 1024;

let influx: InfluxHandle;
let cloud: ChildProcess;
let stdout = '';
let mqttPort: number;
const dir = mkdtempSync(join(tmpdir(), 'michi-cloud-broker-attack-'));
const sockets: net.Socket[] = [];

beforeAll(async () => {
  influx = await startInfluxDb();
  const [mqttP, httpPort] = (await freePorts(2)) as [number, number];
  mqttPort = mqttP;
  const config = join(dir, 'cloud.yaml');
  const db = scratchDatabases(dir);
  writeFileSync(
    config,
    `seedsDir: ${FIXTURE_SEEDS}\nmqtt:\n  port: ${mqttPort}\nhttp:\n  port: ${httpPort}\ninflux:\n  url: ${influx.url}\nlog:\n  level: info\nauth: ${JSON.stringify(TEST_AUTH)}\n` +
      `alarms: ${JSON.stringify(db.alarms)}\nrecords: ${JSON.stringify(db.records)}\n`,
  );
  cloud = spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', MAIN, '--config', config], {
    env: { ...process.env, ...SECRET_ENV },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cloud.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  await waitFor(() => (stdout.includes('MQTT ingest listening') ? true : undefined), { timeoutMs: 30_000, what: 'the cloud MQTT ingest' });
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  cloud?.kill('SIGKILL');
  await influx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Resident memory after a GC-free settle: the cloud's own RSS. */
async function settledRss(): Promise<number> {
  await new Promise((r) => setTimeout(r, 300));
  return rssBytes(cloud.pid!);
}

describe('finding 10: memory before login', () => {
  it('cuts an unauthenticated CONNECT declaring 250 MiB at its header', async () => {
    const before = await settledRss();
    const attack = await oversizedConnect({ port: mqttPort }, 250 * MiB, 8 * MiB);
    sockets.push(attack.socket);
    expect(attack.closedAfterMs, 'the cloud closed the socket').toBeDefined();
    expect(attack.closedAfterMs!).toBeLessThan(1_000);
    expect((await settledRss()) - before).toBeLessThan(16 * MiB);
  });

  it('25 unauthenticated connections each sending a 4 MiB CONNECT do not grow the cloud', async () => {
    const before = await settledRss();
    const attacks = await Promise.all(
      Array.from({ length: 25 }, () => oversizedConnect({ port: mqttPort }, 4 * MiB, 4 * MiB - 64 * 1024, 1_000)),
    );
    sockets.push(...attacks.map((a) => a.socket));
    const grown = (await settledRss()) - before;
    for (const a of attacks) a.socket.destroy();
    // Before the fix: each connection held its 4 MiB in the parser (over 100 MiB in all).
    expect(grown, 'RSS growth of the cloud process').toBeLessThan(24 * MiB);
    expect(
      attacks.filter((a) => a.closedAfterMs === undefined),
      'sockets left open',
    ).toHaveLength(0);
    expect(stdout).toContain('"reason":"connect_too_large"');
  });

  it('refuses the 33rd socket of one address; another address still logs in', async () => {
    const first = await openIdleSockets({ port: mqttPort }, 32);
    sockets.push(...first);
    const extra = await rawConnect({ port: mqttPort }, { clientId: 'edge-gw-a', username: 'gw-a', password: SECRETS['gw-a'] });
    sockets.push(extra.socket);
    expect(extra.code).toBe('closed');
    const other = await rawConnect(
      { port: mqttPort, localAddress: '127.0.0.2' },
      { clientId: 'edge-gw-a', username: 'gw-a', password: SECRETS['gw-a'] },
    );
    sockets.push(other.socket);
    expect(other.code).toBe(0);
    expect(stdout).toContain('"reason":"max_connections_per_address"');
    for (const s of [...first, extra.socket, other.socket]) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
  });

  it('closes a socket that sends no CONNECT within 5 s', async () => {
    const [idle] = await openIdleSockets({ port: mqttPort }, 1);
    sockets.push(idle!);
    const after = await closedWithin(idle!, 8_000);
    expect(after, 'closed by the connect timeout').toBeDefined();
    expect(after!).toBeGreaterThan(4_000);
  }, 15_000);
});

describe('finding 6: client-id takeover', () => {
  it("refuses gw-b's login with gw-a's client id (CONNACK 2); gw-a stays connected", async () => {
    const victim = await connectGateway(mqttPort, 'gw-a', { clientId: 'edge-gw-a' });
    let closed = false;
    victim.on('close', () => (closed = true));
    const takeover = await rawConnect({ port: mqttPort }, { clientId: 'edge-gw-a', username: 'gw-b', password: SECRETS['gw-b'] });
    sockets.push(takeover.socket);
    expect(takeover.code).toBe(2);
    const other = await rawConnect({ port: mqttPort }, { clientId: 'sim-gw-b', username: 'gw-b', password: SECRETS['gw-b'] });
    sockets.push(other.socket);
    expect(other.code).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(closed).toBe(false);
    expect(victim.connected).toBe(true);
    // Its own ids still work: edge-gw-b and edge-gw-b.<suffix>.
    const own = await rawConnect({ port: mqttPort }, { clientId: 'edge-gw-b.2', username: 'gw-b', password: SECRETS['gw-b'] });
    sockets.push(own.socket);
    expect(own.code).toBe(0);
    own.socket.destroy();
    await victim.endAsync();
    expect(stdout).toContain('"reason":"client_id_rejected"');
  });
});

describe('finding 11: failed-login log flood', () => {
  it('200 failed logins with 60 KB and 3 KB user names write a bounded log', async () => {
    const before = stdout.length;
    const big = await failedLoginFlood({ port: mqttPort }, 100, 60_000);
    const small = await failedLoginFlood({ port: mqttPort }, 100, 3_000);
    await new Promise((r) => setTimeout(r, 300));
    const written = stdout.length - before;
    // Before the fix: every attempt logged its whole user name (3 MB for 50 of 60 KB).
    expect(written, 'log bytes written').toBeLessThan(8 * 1024);
    expect(stdout.slice(before)).not.toContain('u'.repeat(100));
    // The 60 KB CONNECTs are cut before login; the others are refused as bad logins.
    expect(big.every((c) => c === 'closed')).toBe(true);
    expect(small.every((c) => c === 4)).toBe(true);
  }, 60_000);
});
