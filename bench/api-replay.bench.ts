// The replay's data (issue 5): one hour of the bus pilot (maebashi-l4-bus, 3 buses at 1 Hz =
// 10,800 vehicle_state points, written as the cloud writes them) in a real InfluxDB, then the
// time to fetch GET /api/v1/pilots/maebashi-l4-bus/tracks for that hour from the cloud on loopback
// (goal < 2 s): with the default maxPoints=2000 (downsampled in InfluxDB) and with every point
// (maxPoints=20000). Baseline, same run: the raw InfluxQL SELECT of the same points straight from
// InfluxDB's /query, parsed. Each measured RUNS times after one warm-up; medians and maxima.
//
//   make bench   (or: node --conditions=michi-src --import tsx bench/api-replay.bench.ts)
//   MICHI_BENCH_REPLAY_RUNS=20 sets the repetitions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCloudConfig, readingToLine, startCloud } from '@michi/cloud';
import { pino } from 'pino';
import { loadSeeds } from '@michi/proto';
import { startInfluxDb } from '../scripts/test-support/index.js';
import { benchCloudEnv } from './bench-cloud.js';

const PILOT = 'maebashi-l4-bus';
const RUNS = Number(process.env['MICHI_BENCH_REPLAY_RUNS'] ?? 10);
const HOUR_MS = 3_600_000;
const TOKEN = 'bench-operator-token-0123456789';

type LonLat = [number, number];

/** Positions along a route polyline at `speed` m/s, back and forth (flat-earth metres; fine for a town). */
function walker(coords: readonly LonLat[], speed: number): (t: number) => { lat: number; lon: number; heading: number } {
  const m = (a: LonLat, b: LonLat) => {
    const dx = (b[0] - a[0]) * 111_320 * Math.cos((a[1] * Math.PI) / 180);
    const dy = (b[1] - a[1]) * 111_320;
    return Math.hypot(dx, dy);
  };
  const legs = coords.slice(1).map((b, i) => ({ a: coords[i]!, b, len: m(coords[i]!, b) }));
  const total = legs.reduce((s, l) => s + l.len, 0);
  return (t) => {
    let d = (t * speed) % (2 * total);
    if (d > total) d = 2 * total - d;
    for (const l of legs) {
      if (d <= l.len) {
        const f = l.len === 0 ? 0 : d / l.len;
        const heading = (Math.atan2(l.b[0] - l.a[0], l.b[1] - l.a[1]) * 180) / Math.PI;
        return { lon: l.a[0] + (l.b[0] - l.a[0]) * f, lat: l.a[1] + (l.b[1] - l.a[1]) * f, heading: (heading + 360) % 360 };
      }
      d -= l.len;
    }
    const last = coords.at(-1)!;
    return { lon: last[0], lat: last[1], heading: 0 };
  };
}

function stats(ms: number[]): { median: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)]!, max: s.at(-1)! };
}

async function timed(fn: () => Promise<number>): Promise<{ ms: number[]; points: number; bytes: number }> {
  await fn(); // warm-up
  const ms: number[] = [];
  let points = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    points = await fn();
    ms.push(performance.now() - t0);
  }
  return { ms, points, bytes: lastBytes };
}

let lastBytes = 0;

async function main(): Promise<void> {
  const pilot = loadSeeds('seeds').find((p) => p.id === PILOT);
  if (!pilot) throw new Error(`no pilot ${PILOT} in seeds/`);
  const influx = await startInfluxDb();
  const dir = mkdtempSync(join(tmpdir(), 'michi-bench-api-'));
  const from = Math.floor((Date.now() - 2 * HOUR_MS) / 1000) * 1000;
  const to = from + HOUR_MS - 1;
  let cloud;
  try {
    // 1 hour × 1 Hz × 3 buses, with the fields and tags the cloud writes
    const lines: string[] = [];
    pilot.vehicles.forEach((v, k) => {
      const route = pilot.routes.find((r) => r.id === v.routeId)!;
      const walk = walker(route.geometry.coordinates as LonLat[], v.nominalSpeedKmh / 3.6);
      for (let s = 0; s < 3600; s++) {
        const p = walk(s + k * 600);
        lines.push(
          readingToLine(
            {
              state: {
                source_id: v.id,
                ts_ms: from + s * 1000 + k * 7,
                seq: s + 1,
                position: { lat: p.lat, lon: p.lon },
                speed_mps: v.nominalSpeedKmh / 3.6,
                heading_deg: p.heading,
                accel_mps2: 0.1,
                mode: s % 600 < 540 ? 2 : 1,
                odometer_m: s * (v.nominalSpeedKmh / 3.6),
                battery_pct: 90 - s / 100,
              },
            },
            { pilot: PILOT, gateway: v.gatewayId, recvMs: from + s * 1000 + 40 },
          ),
        );
      }
    });
    for (let i = 0; i < lines.length; i += 5_000) await influx.write(lines.slice(i, i + 5_000));

    cloud = await startCloud(
      loadCloudConfig(undefined, benchCloudEnv(influx, TOKEN, dir)),
      // silent: the audit log would print a line per request
      { logger: pino({ level: 'silent' }) },
    );
    const api = cloud.url;

    const tracks = (maxPoints: number) => async () => {
      const res = await fetch(`${api}/api/v1/pilots/${PILOT}/tracks?from=${from}&to=${to}&maxPoints=${maxPoints}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`tracks answered ${res.status}: ${text}`);
      lastBytes = text.length;
      const body = JSON.parse(text) as { tracks: { points: unknown[] }[] };
      return body.tracks.reduce((n, t) => n + t.points.length, 0);
    };
    const raw = async () => {
      const q = `SELECT "lat", "lon", "speed_mps", "heading_deg", "mode" FROM "vehicle_state" WHERE "pilot" = '${PILOT}' AND time >= ${from}ms AND time <= ${to}ms GROUP BY "source"`;
      const res = await fetch(`${influx.url}/query?db=${influx.database}&epoch=ms&q=${encodeURIComponent(q)}`);
      const text = await res.text();
      lastBytes = text.length;
      const body = JSON.parse(text) as { results: { series?: { values: unknown[][] }[] }[] };
      return (body.results[0]?.series ?? []).reduce((n, s) => n + s.values.length, 0);
    };

    /** Other endpoints over the same hour, for the record (no goal): they read every raw point. */
    const other = (path: string, count: (body: Record<string, unknown[]>) => number) => async () => {
      const res = await fetch(`${api}/api/v1/pilots/${PILOT}/${path}?from=${from}&to=${to}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${text}`);
      lastBytes = text.length;
      return count(JSON.parse(text) as Record<string, unknown[]>);
    };

    const baseline = await timed(raw);
    const downsampled = await timed(tracks(2_000));
    const full = await timed(tracks(20_000));
    const kpis = await timed(other('kpis', () => lines.length));
    const completeness = await timed(other('completeness', (b) => b['sources']!.length));
    const b = stats(baseline.ms);
    const rows: [string, { ms: number[]; points: number; bytes: number }][] = [
      ['baseline: raw InfluxQL SELECT from InfluxDB /query', baseline],
      ['GET /tracks, maxPoints=2000 (the replay)', downsampled],
      ['GET /tracks, maxPoints=20000 (every point)', full],
      ['GET /kpis for the hour (reads every point)', kpis],
      ['GET /completeness for the hour (no gaps: aggregates only)', completeness],
    ];
    console.log(`\n1 hour of ${PILOT}: ${lines.length} points in InfluxDB; ${RUNS} runs each after one warm-up; loopback\n`);
    console.log('| request | points | response bytes | median ms | max ms | median / baseline | goal < 2000 ms |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const [name, r] of rows) {
      const s = stats(r.ms);
      const goal = !name.includes('/tracks') ? '' : s.max < 2_000 ? 'met' : 'NOT met';
      console.log(
        `| ${name} | ${r.points} | ${r.bytes} | ${s.median.toFixed(1)} | ${s.max.toFixed(1)} | ${(s.median / b.median).toFixed(2)} | ${goal} |`,
      );
    }
  } finally {
    await cloud?.close();
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
