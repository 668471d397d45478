// Proves the test-support helpers against the real binaries: InfluxDB, Mosquitto, Chromium.
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { launchChromium, startInfluxDb, startMosquitto, tcpConnect } from './index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Stops whatever a test started even when it fails half-way.
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((fn) => fn()));
});

describe('startInfluxDb', () => {
  it('writes and queries points, then stops and frees its port', async () => {
    const influx = await startInfluxDb({ database: 'infra_test' });
    cleanups.push(() => influx.stop());
    expect(influx.url).toBe(`http://127.0.0.1:${influx.port}`);

    const t0 = Date.UTC(2026, 10, 28, 9, 0, 0);
    await influx.write([
      `vehicle_state,pilot=demo,source=bus-1 speed=10.5,seq=1i ${t0}`,
      `vehicle_state,pilot=demo,source=bus-1 speed=11.5,seq=2i ${t0 + 1_000}`,
      `vehicle_state,pilot=demo,source=bus-1 speed=12.5,seq=3i ${t0 + 2_000}`,
    ]);
    const results = await influx.query("SELECT speed, seq FROM vehicle_state WHERE source = 'bus-1' ORDER BY time", {
      epoch: 'ms',
    });
    expect(results[0].series[0].columns).toEqual(['time', 'speed', 'seq']);
    expect(results[0].series[0].values).toEqual([
      [t0, 10.5, 1],
      [t0 + 1_000, 11.5, 2],
      [t0 + 2_000, 12.5, 3],
    ]);
    expect(await influx.rows('SELECT count(speed) FROM vehicle_state GROUP BY source')).toEqual([
      { source: 'bus-1', time: '1970-01-01T00:00:00Z', count: 3 },
    ]);
    await expect(influx.query('SELEC nonsense')).rejects.toThrow(/error parsing query/);

    const { pid, port } = influx;
    await influx.stop();
    expect(alive(pid)).toBe(false);
    await expect(tcpConnect(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('keeps its data across restart() and stalls while paused', async () => {
    const influx = await startInfluxDb();
    cleanups.push(() => influx.stop());
    await influx.write('m v=1 1000');
    const before = influx.pid;
    await influx.restart();
    expect(influx.pid).not.toBe(before);
    expect(alive(before)).toBe(false);
    expect(await influx.rows('SELECT v FROM m', { epoch: 'ms' })).toEqual([{ time: 1000, v: 1 }]);

    influx.pause();
    await expect(fetch(`${influx.url}/ping`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    influx.resume();
    expect((await fetch(`${influx.url}/ping`)).status).toBe(204);
  });
});

describe('startMosquitto', () => {
  it('relays a message between two mqtt.js clients, then stops', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);

    const sub = await mqtt.connectAsync(broker.url, { clientId: 'infra-sub', reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'infra-pub', reconnectPeriod: 0 });
    cleanups.push(
      () => sub.endAsync(true),
      () => pub.endAsync(true),
    );
    const received = new Promise<[string, string]>((resolve) =>
      sub.on('message', (topic, payload) => resolve([topic, payload.toString()])),
    );
    await sub.subscribeAsync('michi/v1/demo/gw-1/bus-1/state', { qos: 1 });
    await pub.publishAsync('michi/v1/demo/gw-1/bus-1/state', '{"seq":1}', { qos: 1 });
    expect(await received).toEqual(['michi/v1/demo/gw-1/bus-1/state', '{"seq":1}']);
    await Promise.all([sub.endAsync(), pub.endAsync()]);

    const { pid, port } = broker;
    await broker.stop();
    expect(alive(pid)).toBe(false);
    await expect(tcpConnect(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('applies extraConfig, e.g. refusing anonymous clients', async () => {
    const broker = await startMosquitto({ extraConfig: 'allow_anonymous false' });
    cleanups.push(() => broker.stop());
    await expect(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5_000 })).rejects.toThrow(/Not authorized/i);
  });
});

describe('launchChromium', () => {
  it('renders a page and reads its title', async () => {
    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto('data:text/html,<title>michi infra</title><p>ok</p>');
    expect(await page.title()).toBe('michi infra');
    expect(await page.textContent('p')).toBe('ok');
    await browser.close();
  });
});
