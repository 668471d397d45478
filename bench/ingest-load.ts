// What the ingest benches share (ingest-throughput.bench.ts, nats-cluster.bench.ts): the seeds'
// gateways and their vehicles, readings and edge-sized batches of them with unique timestamps, the
// raw line-protocol baseline, and CPU time of a process.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { readingToLine } from '@michi/cloud';
import { encodeBatch, loadSeeds, type michi } from '@michi/proto';

/** Readings per upstream batch, as the edge sends them. */
export const BATCH_ITEMS = 500;
const RAW_LINES = 5_000;
const RAW_WRITERS = 3;
const TICKS = 100; // clock ticks per second in /proc/<pid>/stat (getconf CLK_TCK)

export interface Gateway {
  pilot: string;
  id: string;
  secretEnv: string;
  vehicles: string[];
}

export function gateways(): Gateway[] {
  return loadSeeds('seeds').flatMap((p) =>
    p.gateways.map((g) => ({
      pilot: p.id,
      id: g.id,
      secretEnv: g.credentialsRef.replace(/^env:/, ''),
      // Only the vehicles this gateway may send for (its own, or relayed): the cloud refuses the others.
      vehicles: p.vehicles.filter((v) => v.gatewayId === g.id || v.relayGatewayIds?.includes(g.id)).map((v) => v.id),
    })),
  );
}

/** Reading n of gateway g: its pilot's vehicles in turn; timestamps unique per (pilot, source). */
export function reading(gws: readonly Gateway[], g: number, n: number, tsBase: number): michi.v1.Reading.$Properties {
  const gw = gws[g]!;
  const source = gw.vehicles[n % gw.vehicles.length]!;
  return {
    state: {
      source_id: source,
      ts_ms: tsBase + n * gws.length + g,
      seq: n + 1,
      position: { lat: 36.38 + (n % 1000) * 1e-6, lon: 139.07 + (n % 777) * 1e-6 },
      speed_mps: 5 + (n % 10),
      heading_deg: n % 360,
      mode: 2,
      battery_pct: 80.5,
      odometer_m: 1_000 + n,
      signals: { 'Vehicle.Cabin.Door.Row1.IsOpen': 0 },
    },
  };
}

export function batches(gws: readonly Gateway[], g: number, perGateway: number, tsBase: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let first = 0; first < perGateway; first += BATCH_ITEMS) {
    const n = Math.min(BATCH_ITEMS, perGateway - first);
    const items = Array.from({ length: n }, (_, i) => reading(gws, g, first + i, tsBase));
    out.push(encodeBatch({ pilot_id: gws[g]!.pilot, gateway_id: gws[g]!.id, first_seq: first + 1, items, sent_ts_ms: Date.now() }));
  }
  return out;
}

export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14 and 15)
}

/**
 * The raw phase: the lines encoded and joined first, then a function that sends them, so that only
 * the sending is measured (rate and CPU alike), as for the load generator.
 */
export function raw(influxUrl: string, tsBase: number, total: number): () => Promise<{ readings: number; ms: number }> {
  const gws = gateways();
  const per = Math.ceil(total / gws.length);
  const lines: string[] = [];
  const recvMs = Date.now();
  for (let g = 0; g < gws.length; g++)
    for (let n = 0; n < per; n++)
      lines.push(readingToLine(reading(gws, g, n, tsBase), { pilot: gws[g]!.pilot, gateway: gws[g]!.id, recvMs }));
  const bodies: string[] = [];
  for (let i = 0; i < lines.length; i += RAW_LINES) bodies.push(lines.slice(i, i + RAW_LINES).join('\n'));
  return async () => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: RAW_WRITERS }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          const res = await fetch(`${influxUrl}/write?db=michi&precision=ms`, { method: 'POST', body });
          if (res.status !== 204) throw new Error(`raw write: ${res.status} ${await res.text()}`);
        }
      }),
    );
    return { readings: lines.length, ms: performance.now() - started };
  };
}
