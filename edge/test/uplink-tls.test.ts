// Issue 3: the upstream over gRPC and over MQTT, both with TLS, against the real cloud (its gRPC
// ingest and its MQTT TLS listener, certificates from a test CA) in front of a real InfluxDB, the
// agent as a child process. Every reading a vehicle had acknowledged is in InfluxDB exactly once;
// a wrong gateway secret is refused, counted and logged, and the agent keeps retrying with backoff.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync } from 'mqtt';
import { encodeReadingPayload, readingTopic, type ReadingKind } from '@michi/proto';
import { makeTestPki, waitFor, type TestPki } from '../../scripts/test-support/index.js';
import { deviceLogin, GATEWAY, metricValue, PILOT } from './support.js';
import { bodyAt, drive, MEASUREMENT, scrape, SECRET_ENV, Vehicle, type AgentProcess } from './durability-support.js';
import { durabilityRig } from './durability-rig.js';

const kindOf = (_v: Vehicle, n: number): ReadingKind => (n % 50 === 0 ? 'event' : n % 3 === 0 ? 'link' : 'state');

describe('edge uplink with TLS against the real cloud', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki?.remove());
  // A write InfluxDB has not answered within 2 s fails, and the gRPC ingest answers RETRY.
  const rig = durabilityRig('tls', () => ({ grpc: true, pki, env: { MICHI_CLOUD_INFLUX__TIMEOUT_MS: '2000' } }));
  const vehicles = rig.vehicles;

  const grpcTls = () => [
    'mode: grpc',
    'grpc:',
    `  address: 127.0.0.1:${rig.cloud.grpcPort}`,
    '  tls: true',
    'tls:',
    `  caFile: ${pki.caFile}`,
  ];

  async function agent(name: string, o: { url?: string; uplink: string[]; env?: Record<string, string> }): Promise<AgentProcess> {
    const home = join(rig.dir, name);
    mkdirSync(home);
    const yaml = await rig.agentYaml({ url: o.url, uplink: o.uplink }, home);
    return rig.spawnAgent(yaml, { home, env: o.env });
  }

  /** Drives one vehicle for `ms`, waits until the agent's buffer is empty, and stops the agent. */
  async function deliver(a: AgentProcess, source: string, ms: number): Promise<Vehicle> {
    const v = new Vehicle(source);
    vehicles.push(v);
    await v.connect(a.mqttPort);
    const traffic = drive([v], 100, kindOf);
    await sleep(ms);
    traffic.stop();
    await waitFor(() => v.acked.length === v.sent.length, { what: 'the gateway to acknowledge every reading', timeoutMs: 10_000 });
    await waitFor(async () => metricValue(await scrape(a.metricsPort), 'michi_edge_buffer_depth') === 0, {
      what: 'the cloud to acknowledge the buffer',
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    await v.close();
    return v;
  }

  /** Each reading `v` had acknowledged is in InfluxDB once, and nothing else is in its time span (sources recur across cases). */
  async function expectExactlyOnce(v: Vehicle): Promise<void> {
    const from = v.sent[0]!.tsMs;
    const to = v.sent.at(-1)!.tsMs;
    for (const kind of ['state', 'link', 'event'] as const) {
      const acked = v.acked.filter((r) => r.kind === kind).map((r) => r.seq);
      expect(acked.length, `${v.source}/${kind}: readings sent`).toBeGreaterThan(0);
      const rows = await rig.cloud.influx.rows(
        `SELECT seq FROM ${MEASUREMENT[kind]} WHERE source = '${v.source}' AND time >= ${from}ms AND time <= ${to}ms`,
        { epoch: 'ms' },
      );
      const seqs = rows.map((p) => Number(p['seq']));
      expect(
        seqs.toSorted((x, y) => x - y),
        `${v.source}/${kind}: each acknowledged reading exactly once`,
      ).toEqual(acked.toSorted((x, y) => x - y));
    }
  }

  it(
    'gRPC mode: readings reach InfluxDB exactly once over the TLS Upload stream with the gateway token, deflated',
    { timeout: 90_000 },
    async () => {
      // Deflated batches too: the cloud recognizes a zlib stream inside UploadRequest.batch as it does on MQTT.
      const a = await agent('grpc', { uplink: [...grpcTls(), 'compression: deflate'] });
      const connected = await waitFor(() => a.logs().find((l) => l['msg'] === 'uplink connected'), { what: 'the gRPC uplink' });
      expect(connected['target']).toBe(`grpcs://127.0.0.1:${rig.cloud.grpcPort}`);
      const v = await deliver(a, 'bus-01', 3_000);
      const m = await scrape(a.metricsPort);
      expect(metricValue(m, 'michi_edge_uplink_connected')).toBe(1);
      expect(metricValue(m, 'michi_edge_uplink_batches_acked_total')).toBeGreaterThan(0);
      expect(metricValue(m, 'michi_edge_uplink_batches_sent_total', 'stream="event"')).toBeGreaterThan(0);
      expect(metricValue(m, 'michi_edge_forwarded_total')).toBe(v.acked.length);
      expect(metricValue(m, 'michi_edge_uplink_bytes_total', 'stage="sent"')).toBeLessThan(
        metricValue(m, 'michi_edge_uplink_bytes_total', 'stage="batch"')!,
      );
      expect(metricValue(m, 'michi_edge_uplink_reconnects_total', 'reason="refused"')).toBe(0);

      // A reading 10 min ahead: the edge keeps it (it only counts the skew), the cloud's window (5 min)
      // refuses it; the UploadResponse says so, and the agent counts it by code.
      const ahead = await connectAsync(`mqtt://127.0.0.1:${a.mqttPort}`, {
        ...deviceLogin('bus-01'),
        clientId: 'bus-01.ahead',
        reconnectPeriod: 0,
      });
      const future = bodyAt('state', 'bus-01', 1_000_000, Date.now() + 10 * 60_000);
      await ahead.publishAsync(readingTopic(PILOT, GATEWAY, 'bus-01', 'state'), Buffer.from(encodeReadingPayload('state', future)), {
        qos: 1,
      });
      await ahead.endAsync();
      await waitFor(
        async () => metricValue(await scrape(a.metricsPort), 'michi_edge_uplink_rejected_total', 'code="MICHI_ERR_CLOCK_SKEW"') === 1,
        {
          what: 'the refused reading to be counted',
        },
      );
      expect(metricValue(await scrape(a.metricsPort), 'michi_edge_buffer_depth')).toBe(0);
      await a.kill('SIGTERM');
      await expectExactlyOnce(v);
    },
  );

  it(
    'gRPC mode: a wrong gateway secret is refused, counted and logged; the agent keeps retrying with backoff',
    { timeout: 60_000 },
    async () => {
      const a = await agent('refused', { uplink: grpcTls(), env: { [SECRET_ENV]: 'not-the-gateway-secret' } });
      // The counter moves before the log line is written: wait for the log lines, then read it.
      const refusalLogs = () =>
        a
          .logs()
          .filter((l) => l['msg'] === 'the cloud refused this gateway: check uplink.username and the secret named by uplink.passwordEnv');
      await waitFor(() => refusalLogs().length >= 4, { what: 'four refusals', timeoutMs: 20_000 });
      const refusals = refusalLogs();
      expect(metricValue(await scrape(a.metricsPort), 'michi_edge_uplink_reconnects_total', 'reason="refused"')).toBeGreaterThanOrEqual(4);
      expect(String(refusals[0]!['error'])).toMatch(/UNAUTHENTICATED.*MICHI_ERR_FORBIDDEN: login refused/);
      // Equal jitter: the wait doubles per refusal (reconnectMinMs 100: 50-100 ms, then 100-200, 200-400).
      const waits = refusals.map((l) => Number(l['retryInMs']));
      expect(waits[2]!).toBeGreaterThan(waits[0]!);
      expect(JSON.stringify(a.logs())).not.toContain('not-the-gateway-secret');

      // Alive and still buffering: what vehicles publish meanwhile waits on disk.
      const v = new Vehicle('weather-ekimae');
      vehicles.push(v);
      await v.connect(a.mqttPort);
      for (let i = 0; i < 5; i++) v.publishNext('sensor');
      await waitFor(() => v.acked.length === 5, { what: 'the gateway to acknowledge the readings' });
      const m = await scrape(a.metricsPort);
      expect(metricValue(m, 'michi_edge_uplink_connected')).toBe(0);
      expect(metricValue(m, 'michi_edge_buffer_depth')).toBe(5);
      expect(a.child.exitCode).toBeNull();
      await a.kill('SIGKILL');
    },
  );

  it(
    'gRPC mode: while InfluxDB hangs the cloud answers RETRY; the agent backs off, sends again, loses nothing',
    { timeout: 90_000 },
    async () => {
      const a = await agent('retry', { uplink: grpcTls() });
      const v = new Vehicle('bus-02');
      vehicles.push(v);
      await v.connect(a.mqttPort);
      const traffic = drive([v], 50, kindOf);
      await sleep(1_000);
      rig.cloud.influx.pause();
      const retryLogs = () => a.logs().filter((l) => l['msg'] === 'uplink disconnected' && l['reason'] === 'retry');
      try {
        await waitFor(() => retryLogs().length >= 2, { what: 'two RETRY answers', timeoutMs: 30_000 });
      } finally {
        rig.cloud.influx.resume();
      }
      const retries = retryLogs();
      expect(metricValue(await scrape(a.metricsPort), 'michi_edge_uplink_reconnects_total', 'reason="retry"')).toBeGreaterThanOrEqual(2);
      expect(String(retries[0]!['error'])).toMatch(/the cloud asked to send again: MICHI_ERR_STORAGE/);
      // The second wait comes from a backoff that kept growing although each stream had come up.
      expect(Number(retries[1]!['retryInMs'])).toBeGreaterThan(Number(retries[0]!['retryInMs']));
      traffic.stop();
      await waitFor(() => v.acked.length === v.sent.length, { what: 'the gateway to acknowledge every reading' });
      await waitFor(async () => metricValue(await scrape(a.metricsPort), 'michi_edge_buffer_depth') === 0, {
        what: 'the backlog to reach InfluxDB',
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      expect(metricValue(await scrape(a.metricsPort), 'michi_edge_uplink_resent_total', 'reason="reconnect"')).toBeGreaterThan(0);
      await v.close();
      await a.kill('SIGTERM');
      await expectExactlyOnce(v);
    },
  );

  it('MQTT mode over TLS: mqtts:// with the CA file reaches the cloud’s TLS listener', { timeout: 90_000 }, async () => {
    const a = await agent('mqtts', { url: `mqtts://127.0.0.1:${rig.cloud.mqttTlsPort}`, uplink: ['tls:', `  caFile: ${pki.caFile}`] });
    const connected = await waitFor(() => a.logs().find((l) => l['msg'] === 'uplink connected'), { what: 'the mqtts uplink' });
    expect(connected['target']).toBe(`mqtts://127.0.0.1:${rig.cloud.mqttTlsPort}`);
    const v = await deliver(a, 'bus-02', 3_000);
    await a.kill('SIGTERM');
    await expectExactlyOnce(v);
  });
});
