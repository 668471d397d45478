import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@michi/proto';
import { influxEndpoint, influxPassword, influxServers, loadCloudConfig } from './config.js';

function file(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'michi-cloud-config-')), 'cloud.yaml');
  writeFileSync(f, text);
  return f;
}

describe('loadCloudConfig', () => {
  it('has a default for everything', () => {
    const c = loadCloudConfig(undefined, {});
    expect(c).toEqual({
      seedsDir: 'seeds',
      mqtt: {
        host: '127.0.0.1',
        port: 1883,
        maxPayloadBytes: 4 * 1024 * 1024,
        limits: {
          maxConnections: 1_000,
          maxConnectionsPerAddress: 32,
          maxConnectionsPerGateway: 8,
          publishRate: { perSecond: 1_000, burst: 2_000 },
        },
      },
      http: { host: '127.0.0.1', port: 8080, tileOrigins: [] },
      metrics: { host: '127.0.0.1', port: 9460 },
      api: {
        allowedOrigins: [],
        maxLiveConnectionsPerToken: 8,
        limits: {
          rate: { perSecond: 20, burst: 100 },
          anonymousRate: { perSecond: 10, burst: 50 },
          maxQueriesPerToken: 2,
          maxQueries: 4,
          maxQueuedPerToken: 8,
          queueTimeoutMs: 5_000,
          queryTimeoutMs: 10_000,
          maxRows: 600_000,
        },
      },
      grpc: {
        enabled: false,
        host: '127.0.0.1',
        port: 50051,
        maxInflightPerStream: 32,
        maxStreams: 10_000,
        maxStreamsPerGateway: 8,
        uploadRate: { perSecond: 1_000, burst: 2_000 },
      },
      worker: {
        mode: 'mqtt',
        nats: {
          servers: ['nats://127.0.0.1:4222'],
          stream: '$MQTT_msgs',
          replicas: 3,
          durable: 'michi-ingest',
          ackWaitSeconds: 30,
          maxAckPending: 1_000,
          maxInFlight: 64,
        },
        brokerUrl: 'mqtt://127.0.0.1:1883',
        clientId: 'michi-ingest-1',
        connections: 4,
        group: 'michi-ingest',
        sessionExpirySeconds: 86_400,
        username: 'michi-ingest',
        metrics: { host: '127.0.0.1', port: 9465 },
      },
      watch: { enabled: false, clientId: 'michi-watch' },
      influx: {
        url: 'http://127.0.0.1:8086',
        database: 'michi',
        timeoutMs: 10_000,
        maxBatchLines: 5_000,
        flushIntervalMs: 20,
        maxPendingLines: 200_000,
        maxConcurrentWrites: 2,
        healthIntervalMs: 5_000,
      },
      influxServers: [],
      dashboardDir: 'dashboard/dist',
      timestampWindow: { pastMs: 7 * 24 * 3600 * 1000, futureMs: 5 * 60 * 1000 },
      rollups: { enabled: true, settleMs: 30_000, tickMs: 5_000, maxHoursPerTick: 24, backfillDays: 35 },
      auth: { tokens: [], allowAnonymousViewer: false },
      alarms: {
        enabled: true,
        dbFile: '.data/cloud/alarms.sqlite',
        lateAfterS: 30,
        tickIntervalMs: 1_000,
        keepClearedDays: 30,
        keepHistoryDays: 400,
        webhooks: [],
      },
      records: { enabled: true, dbFile: '.data/cloud/records.sqlite', retentionDays: 183 },
      log: { level: 'info' },
    });
    expect(Object.isFrozen(c) && Object.isFrozen(c.influx)).toBe(true);
  });

  it('documents every setting with its default in cloud.example.yaml', () => {
    const example = fileURLToPath(new URL('../cloud.example.yaml', import.meta.url));
    expect(loadCloudConfig(example, {})).toEqual(loadCloudConfig(undefined, {}));
  });

  it('takes the file, then MICHI_CLOUD_* variables, and allows port 0', () => {
    const c = loadCloudConfig(file('mqtt:\n  port: 0\ninflux:\n  database: pilots\n'), {
      MICHI_CLOUD_HTTP__PORT: '0',
      MICHI_CLOUD_INFLUX__URL: 'http://db:8086',
      MICHI_CLOUD_CONFIG: '/names/the/file',
    });
    expect(c.mqtt.port).toBe(0);
    expect(c.http.port).toBe(0);
    expect(c.influx).toMatchObject({ url: 'http://db:8086', database: 'pilots' });
  });

  it('resolves gateway secrets from the environment it was given, and never shows them with the configuration', () => {
    const c = loadCloudConfig(undefined, { MICHI_GW_X_SECRET: 's3cret' });
    expect(c.resolveSecret('env:MICHI_GW_X_SECRET')).toBe('s3cret');
    expect(c.resolveSecret('env:MICHI_GW_MISSING')).toBeUndefined();
    const secretFile = file('from-a-file\n');
    expect(c.resolveSecret(`file:${secretFile}`)).toBe('from-a-file');
    expect(JSON.stringify(c)).not.toContain('s3cret');
    expect(Object.keys(c)).not.toContain('resolveSecret');
  });

  it('names the file, the path and what was expected', () => {
    const f = file('influx:\n  url: ftp://x\n  maxBatchLines: 10\n  maxPendingLines: 5\nmqtt:\n  portt: 1\n');
    let err: unknown;
    try {
      loadCloudConfig(f, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message).toContain(`${f}: influx.url: expected an http:// or https:// URL`);
    expect(message).toContain('influx.maxPendingLines must be at least influx.maxBatchLines');
    expect(message).toContain(`${f}: mqtt: Unrecognized key: "portt"`);
  });

  it('takes api.allowedOrigins as bare origins only', () => {
    const ok = loadCloudConfig(file('api:\n  allowedOrigins: [https://dashboard.example, "http://127.0.0.1:5173"]\n'), {});
    expect(ok.api.allowedOrigins).toEqual(['https://dashboard.example', 'http://127.0.0.1:5173']);
    for (const bad of ['https://dashboard.example/', 'https://dashboard.example/app', '"null"', '"*"', 'ftp://x.example']) {
      expect(() => loadCloudConfig(file(`api:\n  allowedOrigins: [${bad}]\n`), {})).toThrow(/api\.allowedOrigins\[0\]: expected an origin/);
    }
    expect(() => loadCloudConfig(file('api:\n  maxLiveConnectionsPerToken: 0\n'), {})).toThrow(/api\.maxLiveConnectionsPerToken/);
  });

  it('takes alarms.webhooks with their defaults, and names the webhook setting that is wrong', () => {
    const c = loadCloudConfig(
      file('alarms:\n  webhooks:\n    - { id: ops, url: "https://pager.example/hook", secretEnv: MICHI_HOOK }\n'),
      {},
    );
    expect(c.alarms.webhooks).toEqual([expect.objectContaining({ id: 'ops', pilots: ['*'], minSeverity: 'warning' })]);
    expect(() =>
      loadCloudConfig(file('alarms:\n  webhooks:\n    - { id: ops, url: "ftp://x.example", secretEnv: MICHI_HOOK }\n'), {}),
    ).toThrow(/alarms\.webhooks\[0\]\.url: expected an http:\/\/ or https:\/\/ URL/);
  });

  it('validates api.limits: positive rates, per-token queries within the total, and takes one setting without the others', () => {
    expect(() => loadCloudConfig(file('api:\n  limits:\n    rate: { perSecond: 0 }\n'), {})).toThrow(/api\.limits\.rate\.perSecond/);
    expect(() => loadCloudConfig(file('api:\n  limits:\n    maxQueriesPerToken: 5\n    maxQueries: 4\n'), {})).toThrow(
      /maxQueriesPerToken must not exceed api\.limits\.maxQueries/,
    );
    expect(() => loadCloudConfig(file('api:\n  limits:\n    maxRows: 10\n'), {})).toThrow(/api\.limits\.maxRows/);
    const c = loadCloudConfig(file('api:\n  limits:\n    rate: { perSecond: 5 }\n'), { MICHI_CLOUD_API__LIMITS__QUERY_TIMEOUT_MS: '2000' });
    expect(c.api.limits.rate).toEqual({ perSecond: 5, burst: 100 });
    expect(c.api.limits.queryTimeoutMs).toBe(2_000);
  });

  it('reads the InfluxDB password from the variable passwordEnv names, and says which one is missing', () => {
    const f = file('influx:\n  username: michi\n  passwordEnv: MICHI_INFLUX_PASSWORD\n');
    expect(influxPassword(loadCloudConfig(f, { MICHI_INFLUX_PASSWORD: 'pw' }))).toBe('pw');
    expect(() => influxPassword(loadCloudConfig(f, {}))).toThrow(/MICHI_INFLUX_PASSWORD/);
    expect(() => loadCloudConfig(file('influx:\n  passwordEnv: X\n'), {})).toThrow(/passwordEnv needs influx.username/);
    // A user without a password would send an empty one: refused at load, not at the first write.
    expect(() => loadCloudConfig(file('influx:\n  username: michi_cloud\n'), {})).toThrow(/influx.username needs influx.passwordEnv/);
  });

  it('completes each further InfluxDB server from influx, credentials as a pair', () => {
    const c = loadCloudConfig(
      file(
        'influx:\n  username: michi\n  passwordEnv: PW_MAIN\n  timeoutMs: 3000\ninfluxServers:\n' +
          '  - { name: archive-east, url: "http://east:8086", pilots: [pilot-a, pilot-b] }\n' +
          '  - { name: archive-west, url: "http://west:8086", database: west, username: w, passwordEnv: PW_WEST, pilots: [pilot-c] }\n',
      ),
      { PW_MAIN: 'main', PW_WEST: 'west' },
    );
    const [main, east, west] = influxServers(c);
    expect(main).toMatchObject({ name: 'default', url: 'http://127.0.0.1:8086', pilots: [] });
    expect(east).toMatchObject({
      name: 'archive-east',
      url: 'http://east:8086',
      database: 'michi',
      username: 'michi',
      timeoutMs: 3_000,
      maxBatchLines: 5_000,
    });
    expect(influxEndpoint(c, east)).toMatchObject({ username: 'michi', password: 'main' });
    expect(west).toMatchObject({ database: 'west', username: 'w', passwordEnv: 'PW_WEST', pilots: ['pilot-c'] });
    expect(influxEndpoint(c, west)).toMatchObject({ url: 'http://west:8086', username: 'w', password: 'west' });
    expect(() => influxEndpoint(c, { ...west!, passwordEnv: 'PW_NONE' })).toThrow(
      /passwordEnv of InfluxDB server archive-west names PW_NONE/,
    );
  });

  it('refuses a pilot on two servers, a name used twice and influx checks on a server, naming the path', () => {
    const f = file(
      'influxServers:\n' +
        '  - { name: east, url: "http://east:8086", maxPendingLines: 10, pilots: [pilot-a] }\n' +
        '  - { name: east, url: "ftp://west", pilots: [pilot-b, pilot-a] }\n' +
        '  - { name: default, url: "http://x:8086", username: u, pilots: [pilot-c] }\n',
    );
    const message = (() => {
      try {
        loadCloudConfig(f, {});
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      return 'loaded';
    })();
    expect(message).toContain(`${f}: influxServers[1].name: "east" names influxServers[0] already`);
    expect(message).toContain(`${f}: influxServers[1].pilots[1]: pilot "pilot-a" is assigned to influxServers[0] (east) already`);
    expect(message.match(/influxServers\[1\]\.url: expected an http:\/\/ or https:\/\/ URL/g)).toHaveLength(1);
    expect(message).toContain(
      `${f}: influxServers[0].maxPendingLines: influxServers[0].maxPendingLines must be at least influxServers[0].maxBatchLines`,
    );
    expect(message).toContain(`${f}: influxServers[2].name: "default" names the influx section's server`);
    expect(message).toContain('influxServers[2].username needs influxServers[2].passwordEnv');
  });
});
