/**
 * Reads a pilot's readings over a time range back out of InfluxDB (v1 HTTP API, InfluxQL), as
 * michi.v1 bodies, so a day of a real pilot can be recorded to MCAP like a simulated one. The
 * mapping (rowToBody) is in @michi/proto/mcap, shared with the cloud's incident bundles.
 */
import { MEASUREMENTS, TAGS, readingTopic, type ReadingKind } from '@michi/proto';
import { rowToBody } from '@michi/proto/mcap';
import { SimErrorCodes, SimulatorError } from './errors.js';
import type { SimReading } from './fleet.js';

export interface InfluxExportOptions {
  /** InfluxDB's v1 API root, e.g. http://127.0.0.1:8086. */
  url: string;
  database: string;
  pilotId: string;
  /** Start (inclusive) and end (exclusive) of the range, ms since the epoch. */
  fromMs: number;
  toMs: number;
  username?: string;
  password?: string;
  kinds?: readonly ReadingKind[];
}

type Row = Record<string, unknown>;

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Every reading of the pilot in the range, kind by kind, each kind in time order. */
export async function* exportFromInflux(opts: InfluxExportOptions): AsyncGenerator<SimReading> {
  // The URL is in error messages; credentials belong in username and password.
  if (/^[a-z]+:\/\/[^/]*@/i.test(opts.url)) {
    throw new SimulatorError(
      SimErrorCodes.INFLUX,
      'expected an InfluxDB URL without credentials: use --influx-user and --influx-password-env',
      {},
    );
  }
  for (const kind of opts.kinds ?? (['state', 'link', 'sensor', 'event'] as const)) {
    const q =
      `SELECT * FROM "${MEASUREMENTS[kind]}" WHERE ${TAGS.pilot} = ${quote(opts.pilotId)} ` +
      `AND time >= ${Math.floor(opts.fromMs)}ms AND time < ${Math.floor(opts.toMs)}ms ORDER BY time`;
    const params = new URLSearchParams({ db: opts.database, q, epoch: 'ms', chunked: 'true', chunk_size: '10000' });
    // In a header, not as u= and p= in the URL, where proxies and InfluxDB's own request log keep it.
    const headers: Record<string, string> =
      opts.username !== undefined
        ? { authorization: `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}` }
        : {};
    let res: Response;
    try {
      res = await fetch(`${opts.url}/query?${params}`, { headers });
    } catch (err) {
      throw new SimulatorError(
        SimErrorCodes.INFLUX,
        `cannot reach InfluxDB at ${opts.url}: ${(err as Error).message}`,
        { url: opts.url },
        { cause: err },
      );
    }
    if (!res.ok)
      throw new SimulatorError(SimErrorCodes.INFLUX, `InfluxDB /query answered ${res.status}: ${(await res.text()).slice(0, 300)}`, {
        url: opts.url,
      });
    // chunked=true: one JSON document per line, each with part of the series.
    const text = await res.text();
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const doc = JSON.parse(line) as {
        results?: { error?: string; series?: { tags?: Row; columns: string[]; values: unknown[][] }[] }[];
        error?: string;
      };
      const err = doc.error ?? doc.results?.find((r) => r.error)?.error;
      if (err) throw new SimulatorError(SimErrorCodes.INFLUX, `InfluxDB query failed: ${err}`, { query: q });
      for (const series of doc.results?.[0]?.series ?? []) {
        for (const values of series.values) {
          const row: Row = { ...series.tags };
          series.columns.forEach((c, i) => {
            if (values[i] !== null) row[c] = values[i];
          });
          const body = rowToBody(kind, row);
          const gatewayId = String(row['gateway'] ?? '');
          const sourceId = String(row[TAGS.source]);
          yield { kind, pilotId: opts.pilotId, gatewayId, sourceId, topic: readingTopic(opts.pilotId, gatewayId, sourceId, kind), body };
        }
      }
    }
  }
}
