// Line protocol, InfluxQL quoting and the group-committing writer against a real InfluxDB 1.x:
// arbitrary strings read back equal; concurrent writers share requests and are resolved only
// after the 204 that carried their lines; refusals, timeouts and overload are typed StorageErrors.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadError } from '@michi/proto';
import { startInfluxDb, type InfluxHandle } from '../../scripts/test-support/index.js';
import { StorageError } from '../src/errors.js';
import { InfluxHttp } from '../src/influx-http.js';
import { InfluxQuery, quoteIdentifier, quoteLiteral } from '../src/influx-query.js';
import { InfluxWriter, type InfluxWriterOptions } from '../src/influx-writer.js';
import { readingToLine } from '../src/line-protocol.js';
import { CloudMetrics } from '../src/metrics.js';

let influx: InfluxHandle;
let http: InfluxHttp;
let query: InfluxQuery;

const WRITER: InfluxWriterOptions = { maxBatchLines: 5_000, flushIntervalMs: 20, maxPendingLines: 50_000, maxConcurrentWrites: 2 };

beforeAll(async () => {
  influx = await startInfluxDb();
  http = new InfluxHttp({ url: influx.url, database: influx.database, timeoutMs: 1_500 });
  query = new InfluxQuery(http);
});

afterAll(async () => {
  http?.close();
  await influx?.stop();
});

describe('line protocol and InfluxQL quoting against InfluxDB 1.x', () => {
  it('property: arbitrary strings in tags and string fields are stored and read back equal (or refused with a PayloadError)', async () => {
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 });
    let ts = 1_764_300_000_000;
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(text, text, text, text, async (source, cell, gateway, detail) => {
        const time = ts++;
        let line: string;
        try {
          line = readingToLine(
            { link: { source_id: source, ts_ms: time, seq: 1, cell_id: cell, slice: detail } },
            { pilot: 'p', gateway, recvMs: 1 },
          );
        } catch (err) {
          expect(err).toBeInstanceOf(PayloadError);
          return;
        }
        await influx.write(line);
        // Selecting by the tag through quoteLiteral checks the query side's escaping as well.
        const rows = await query.rows(
          `SELECT * FROM ${quoteIdentifier('link_sample')} WHERE "source" = ${quoteLiteral(source)} AND time = ${time}ms`,
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ time, source, cell, gateway, slice: detail, pilot: 'p' });
        stored++;
      }),
      { numRuns: 150 },
    );
    expect(stored).toBeGreaterThan(100);
  });
});

describe('InfluxWriter', () => {
  it('group-commits concurrent callers into few requests and resolves each only when its lines are queryable', async () => {
    const metrics = new CloudMetrics(undefined, { defaultMetrics: false });
    const writer = new InfluxWriter(http, WRITER, { metrics });
    const callers = Array.from({ length: 40 }, (_, c) =>
      writer.write(Array.from({ length: 50 }, (_, i) => `gc,caller=c${c} v=${i}i ${1_764_300_000_000 + i}`)).then(async () => {
        const rows = await query.rows(`SELECT count("v") FROM "gc" WHERE "caller" = ${quoteLiteral(`c${c}`)}`);
        return rows[0]?.['count'];
      }),
    );
    expect(await Promise.all(callers)).toEqual(Array(40).fill(50));
    const requests = (await metrics.writeRequestLines.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value;
    expect(requests).toBeLessThanOrEqual(4); // 2,000 lines arriving together: one or two requests, not forty
    await writer.close();
  });

  it("isolates a caller whose line InfluxDB refuses for good, without failing the others' lines", async () => {
    const writer = new InfluxWriter(http, WRITER);
    await writer.write(['conflict,s=x f=1.5 1000']);
    const good = writer.write(['conflict,s=y f=2.5 1001']);
    const bad = writer.write(['conflict,s=z f=3i 1002']); // f is a float in this shard: a type conflict
    await expect(good).resolves.toBeUndefined();
    const err = await bad.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code: 'MICHI_ERR_STORAGE', status: 400, permanent: true, partial: true, reason: 'invalid' });
    expect((err as StorageError).body).toContain('field type conflict');
    await writer.close();
  });

  it('refuses at once beyond maxPendingLines (back-pressure), and times out against a hung InfluxDB', async () => {
    const writer = new InfluxWriter(http, { ...WRITER, maxPendingLines: 100, maxBatchLines: 100 });
    influx.pause();
    try {
      const slow = writer.write(Array.from({ length: 100 }, (_, i) => `bp v=${i}i ${1_000 + i}`)).catch((e: unknown) => e);
      const refused = await writer.write(['bp v=1i 5000']).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'MICHI_ERR_STORAGE', reason: 'overloaded', permanent: false });
      const timedOut = await slow;
      expect(timedOut).toBeInstanceOf(StorageError);
      expect(timedOut).toMatchObject({ reason: 'unreachable', status: 0, permanent: false });
    } finally {
      influx.resume();
    }
    await writer.write(['bp v=2i 6000']);
    await writer.close();
    await expect(writer.write(['bp v=3i 7000'])).rejects.toMatchObject({ reason: 'closed' });
  });

  it('reports a server that does not answer at all as unreachable', async () => {
    const nowhere = new InfluxHttp({ url: 'http://127.0.0.1:9', database: 'michi', timeoutMs: 1_000 });
    const writer = new InfluxWriter(nowhere, WRITER);
    await expect(writer.write(['x v=1i 1'])).rejects.toMatchObject({ code: 'MICHI_ERR_STORAGE', reason: 'unreachable', status: 0 });
    await writer.close();
    nowhere.close();
  });
});
