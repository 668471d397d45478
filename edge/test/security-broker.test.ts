// Penetration-test findings 2 and 6 against the edge's local MQTT broker, run as an operator runs
// the agent (michi-edge as a child process, its log on stdout): each test performs the attack over
// raw sockets (scripts/test-support/mqtt-attacks.ts) and checks what the operator would see: the
// process's memory (/proc/<pid>/status VmRSS), its log and metrics, and that devices still work.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, waitFor } from '../../scripts/test-support/index.js';
import {
  closedWithin,
  failedLoginFlood,
  openIdleSockets,
  oversizedConnect,
  rawConnect,
  rssBytes,
} from '../../scripts/test-support/mqtt-attacks.js';
import { DEVICE_KEY, deviceLogin, metricValue } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'michi-edge-broker-attack-'));
const sockets: net.Socket[] = [];
let edge: ChildProcess;
let stdout = '';
let port: number;
let metricsPort: number;

beforeAll(async () => {
  [port, metricsPort] = (await freePorts(2)) as [number, number];
  const config = join(dir, 'edge.yaml');
  writeFileSync(
    config,
    `pilotId: maebashi-l4-bus\ngatewayId: gw-ekimae\nlocal:\n  deviceKeyEnv: TEST_DEVICE_KEY\n  mqtt:\n    port: ${port}\nmetrics:\n  port: ${metricsPort}\nbuffer:\n  path: ${join(dir, 'buffer.sqlite')}\nuplink:\n  url: mqtt://127.0.0.1:9\n`,
  );
  edge = spawn(process.execPath, ['--conditions=michi-src', '--import', 'tsx', 'edge/src/main.ts', '-c', config], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', TEST_DEVICE_KEY: DEVICE_KEY },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  edge.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  await waitFor(() => (stdout.includes('local MQTT broker listening') ? true : undefined), {
    timeoutMs: 30_000,
    what: 'the edge local broker',
  });
}, 60_000);

afterAll(() => {
  for (const s of sockets) s.destroy();
  edge?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function settledRss(): Promise<number> {
  await new Promise((r) => setTimeout(r, 300));
  return rssBytes(edge.pid!);
}

async function refusals(reason: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return metricValue(text, 'michi_edge_connections_refused_total', `reason="${reason}"`) ?? 0;
}

describe('finding 2: memory before login', () => {
  it('cuts an unauthenticated CONNECT declaring 250 MiB at its header; the edge does not grow', async () => {
    const before = await settledRss();
    const attack = await oversizedConnect({ port }, 250 * MiB, 48 * MiB);
    sockets.push(attack.socket);
    const grown = (await settledRss()) - before;
    // Before the fix: the edge buffered all 48 MiB sent (and would have taken 250).
    expect(grown, 'RSS growth of the edge process').toBeLessThan(16 * MiB);
    expect(attack.closedAfterMs, 'the edge closed the socket').toBeDefined();
    expect(attack.closedAfterMs!).toBeLessThan(1_000);
    expect(await refusals('connect_too_large')).toBeGreaterThanOrEqual(1);
    expect(stdout).toContain('"reason":"connect_too_large"');
  });

  it('closes a logged-in device whose PUBLISH header declares more than 1 MiB', async () => {
    const { code, socket } = await rawConnect({ port }, { clientId: 'bus-02', ...deviceLogin('bus-02') });
    sockets.push(socket);
    expect(code).toBe(0);
    // PUBLISH QoS 0 declaring 10 MiB.
    socket.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x05]));
    expect(await closedWithin(socket, 2_000)).toBeDefined();
    expect(await refusals('packet_too_large')).toBeGreaterThanOrEqual(1);
  });

  it('refuses the 65th socket of one address; another address still logs in', async () => {
    const first = await openIdleSockets({ port }, 64);
    sockets.push(...first);
    const extra = await rawConnect({ port }, { clientId: 'bus-01', ...deviceLogin('bus-01') });
    sockets.push(extra.socket);
    expect(extra.code).toBe('closed');
    const other = await rawConnect({ port, localAddress: '127.0.0.2' }, { clientId: 'bus-01', ...deviceLogin('bus-01') });
    sockets.push(other.socket);
    expect(other.code).toBe(0);
    expect(await refusals('max_connections_per_address')).toBeGreaterThanOrEqual(1);
    for (const s of [...first, extra.socket, other.socket]) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
  });

  it('closes a socket that sends no CONNECT within 5 s', async () => {
    const [idle] = await openIdleSockets({ port }, 1);
    sockets.push(idle!);
    const after = await closedWithin(idle!, 8_000);
    expect(after, 'closed by the connect timeout').toBeDefined();
    expect(after!).toBeGreaterThan(4_000);
  }, 15_000);
});

describe('finding 6: client-id takeover', () => {
  it("refuses bus-02's login with bus-01's client id (CONNACK 2); bus-01 stays connected", async () => {
    const victim = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'bus-01',
      ...deviceLogin('bus-01'),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    let closed = false;
    victim.on('close', () => (closed = true));
    const takeover = await rawConnect({ port }, { clientId: 'bus-01', ...deviceLogin('bus-02') });
    sockets.push(takeover.socket);
    expect(takeover.code).toBe(2);
    const suffixed = await rawConnect({ port }, { clientId: 'bus-01.sim', ...deviceLogin('bus-02') });
    sockets.push(suffixed.socket);
    expect(suffixed.code).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(closed).toBe(false);
    expect(victim.connected).toBe(true);
    // Its own ids still work: bus-02 and bus-02.<suffix>.
    const own = await rawConnect({ port }, { clientId: 'bus-02.2', ...deviceLogin('bus-02') });
    sockets.push(own.socket);
    expect(own.code).toBe(0);
    own.socket.destroy();
    await victim.endAsync();
    expect(await refusals('client_id_rejected')).toBeGreaterThanOrEqual(2);
  });
});

describe('finding 11: failed-login log flood', () => {
  it('200 failed logins with 60 KB and 3 KB user names write a bounded log', async () => {
    const before = stdout.length;
    const big = await failedLoginFlood({ port }, 100, 60_000);
    const small = await failedLoginFlood({ port }, 100, 3_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(stdout.length - before, 'log bytes written').toBeLessThan(8 * 1024);
    expect(big.every((c) => c === 'closed')).toBe(true);
    expect(small.every((c) => c === 4)).toBe(true);
  }, 60_000);
});
