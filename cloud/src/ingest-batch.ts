/**
 * One upstream Batch from an authenticated gateway, whatever carried it (MQTT, gRPC, a broker worker):
 * decode, authorize its header, validate each item against the pilot definition and the clock,
 * update the latest-state cache (vehicle states and link samples, which drive the live feed), and
 * write the valid items with one awaited InfluxDB write. The outcome tells the transport whether to
 * acknowledge: only after InfluxDB accepted the lines.
 *
 * The cache is updated before the write, as docs/storage.md describes it (the live push branches off ingest
 * beside the InfluxDB writer): waiting for the write added its latency, tens to hundreds of ms, to
 * every live update. The cache keeps the newest reading per vehicle by source timestamp, so the
 * resend of a batch whose write failed, or an older reading, never moves a vehicle back.
 */
import { inflateSync } from 'node:zlib';
import type { Logger } from 'pino';
import {
  ErrorCodes,
  MichiError,
  PayloadError,
  decodeBatch,
  readingBody,
  readingKind,
  type ErrorCode,
  type LinkSample,
  type ReadingKind,
  type VehicleState,
  type michi,
} from '@michi/proto';
import { StorageError } from './errors.js';
import type { InfluxWriter } from './influx-writer.js';
import { linkFromSample, snapshotFromState, type LatestState } from './latest-state.js';
import { LineBody } from './line-protocol.js';
import { HopTiming } from './hop-timing.js';
import type { CloudMetrics } from './metrics.js';
import type { FieldNameSets, GatewayIdentity, PilotDirectory } from './pilot-directory.js';
import { TouchedHours, type RollupMarks } from './rollups/touched-hours.js';

export interface ItemRejection {
  index: number;
  code: string;
  reason: string;
}

export type IngestOutcome =
  /** Valid items are in InfluxDB (the others are listed): acknowledge. */
  | { status: 'accepted'; written: number; rejected: ItemRejection[]; firstSeq: number; items: number }
  /** The payload can never be accepted (undecodable, too large): acknowledge so it is not resent forever. */
  | { status: 'dropped'; reason: string; error: MichiError }
  /** The gateway may not send this (another pilot's or gateway's id): refuse, close the connection. */
  | { status: 'refused'; reason: string; error: MichiError }
  /** Nothing was stored (InfluxDB unavailable or overloaded): do not acknowledge, the edge resends. */
  | { status: 'retry'; reason: string; error: StorageError; firstSeq: number; items: number };

/** What ingest tells an observer of each batch it has validated: the alarm engine, the operating-state record (ingest-observers.ts fans out). */
export interface IngestObserver {
  /** `items[i]` for each i of `valid` passed validation; called before the InfluxDB write. */
  observeBatch(gw: GatewayIdentity, recvMs: number, items: readonly michi.v1.Reading.$Properties[], valid: readonly number[]): void;
}

export interface BatchIngestOptions {
  maxPayloadBytes: number;
  timestampWindow: { pastMs: number; futureMs: number };
}

export interface BatchIngestDeps {
  directory: PilotDirectory;
  writer: InfluxWriter;
  /** With pilots on several InfluxDB servers (influxServers): the writer of the one holding `pilot`'s data. */
  writerOf?: ((pilot: string) => InfluxWriter) | undefined;
  latest: LatestState;
  metrics: CloudMetrics;
  logger: Logger;
  now?: () => number;
  /** Told of each validated batch, synchronously, before its write (the alarm engine and the operating-state record, ingest-observers.ts). */
  observer?: IngestObserver;
  /** Told the (source, hour)s of each batch InfluxDB accepted, so their rollups are recomputed. */
  rollups?: RollupMarks | undefined;
}

/** A metric label from a stable code: MICHI_ERR_CLOCK_SKEW → clock_skew. */
function reasonOf(code: string): string {
  return code.replace(/^MICHI_ERR_/, '').toLowerCase();
}

/**
 * A zlib stream (RFC 1950) starts with CMF 0x78 and a header that is a multiple of 31. An encoded
 * Batch never starts with 0x78: that would be field 15 as a varint, and Batch has no field 15.
 */
function isZlibStream(p: Uint8Array): boolean {
  return p.byteLength >= 2 && p[0] === 0x78 && ((p[0] << 8) | p[1]!) % 31 === 0;
}

/** Keeps `body` in `bySource` if it is the newest of its source so far. */
function keepNewest<T extends { source_id: string; ts_ms: number }>(bySource: Map<string, T>, body: T): void {
  const held = bySource.get(body.source_id);
  if (held === undefined || Number(held.ts_ms) < Number(body.ts_ms)) bySource.set(body.source_id, body);
}

/**
 * The first signal, count or measure name of `item` that its pilot does not declare. Each distinct
 * name becomes an InfluxDB field (`sig.<name>`, ...), so undeclared ones would grow the schema
 * without bound.
 */
function undeclaredField(
  declared: FieldNameSets,
  kind: ReadingKind,
  item: michi.v1.Reading.$Properties,
): { map: keyof FieldNameSets; name: string } | undefined {
  const check = (map: keyof FieldNameSets, values: Record<string, unknown> | null | undefined) => {
    if (values) for (const name in values) if (!declared[map].has(name)) return { map, name };
    return undefined;
  };
  if (kind === 'state') return check('signals', item.state?.signals);
  if (kind === 'sensor') return check('counts', item.sensor?.counts) ?? check('measures', item.sensor?.measures);
  return undefined;
}

/** A batch decoded, checked and encoded, ready for its one InfluxDB write. */
interface PreparedBatch {
  lines: Buffer;
  count: number;
  kinds: Record<ReadingKind, number>;
  rejected: ItemRejection[];
  /** Indices of the items that became lines. */
  lineIndices: number[];
  touched: TouchedHours;
  firstSeq: number;
  items: number;
}

/** Rejections logged per batch in full; the rest are counted. */
const LOGGED_REJECTIONS = 5;

export class BatchIngest {
  private readonly opts: BatchIngestOptions;
  private readonly deps: BatchIngestDeps;
  private readonly now: () => number;
  private readonly hops: HopTiming;

  constructor(opts: BatchIngestOptions, deps: BatchIngestDeps) {
    this.opts = opts;
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.hops = new HopTiming(deps.metrics);
  }

  async ingest(gw: GatewayIdentity, payload: Uint8Array): Promise<IngestOutcome> {
    const ready = this.prepare(gw, payload);
    if ('status' in ready) return ready;
    // Only the encoded lines and a few numbers are held across the write: the decoded batch is
    // garbage already. Held for the write's ~100 ms, its ~2,500 objects per 500 readings outlived
    // V8's young generation; since they are not, garbage collection fell from 23 % to 9 % of the
    // cloud's main thread under bench/ingest-throughput.bench.ts.
    const { lines, count, kinds, rejected, lineIndices, firstSeq, items, touched } = ready;
    const { metrics } = this.deps;
    const log = this.deps.logger;
    if (count > 0) {
      try {
        await (this.deps.writerOf?.(gw.pilot) ?? this.deps.writer).writeBody(lines, count);
      } catch (err) {
        if (!(err instanceof StorageError)) throw err;
        if (err.permanent) {
          // InfluxDB will never take these lines (a field type conflict, say): resending cannot help,
          // so the batch is acknowledged and the loss is counted and logged loudly.
          metrics.readingsRejected.inc({ reason: 'storage_invalid' }, count);
          log.error(
            { pilot: gw.pilot, gateway: gw.gateway, code: err.code, status: err.status, influxError: err.body, lines: count },
            'InfluxDB refused the batch for good; acknowledged without storing',
          );
          this.countRejections(gw, firstSeq, rejected);
          return {
            status: 'accepted',
            firstSeq,
            items,
            written: 0,
            rejected: [...rejected, ...lineIndices.map((index) => ({ index, code: err.code, reason: err.body }))],
          };
        }
        const reason = `storage_${err.reason}`;
        metrics.batchesRejected.inc({ reason });
        log.warn(
          { pilot: gw.pilot, gateway: gw.gateway, code: err.code, reason: err.reason, status: err.status, firstSeq, items },
          'batch not acknowledged: InfluxDB did not take it',
        );
        return { status: 'retry', reason, error: err, firstSeq, items };
      }
      for (const [kind, n] of Object.entries(kinds)) if (n > 0) metrics.readingsAccepted.inc({ kind }, n);
      this.deps.rollups?.markWritten(gw.pilot, touched);
    }
    this.countRejections(gw, firstSeq, rejected);
    return { status: 'accepted', written: count, rejected, firstSeq, items };
  }

  /**
   * Decodes, validates and observes a batch without storing it: the cloud watching a scale-out
   * deployment whose ingest workers store (fleet-watch.ts). The latest-state cache (and so the live
   * feed) and the observer (alarms, record) see exactly what a worker's ingest of the same batch
   * stores; item rejections are the workers' to count.
   */
  observe(gw: GatewayIdentity, payload: Uint8Array): IngestOutcome {
    const ready = this.prepare(gw, payload);
    if ('status' in ready) return ready;
    return { status: 'accepted', written: 0, rejected: ready.rejected, firstSeq: ready.firstSeq, items: ready.items };
  }

  /**
   * Everything before the write, synchronously: decode, authorize the header, validate each item,
   * encode the valid ones as lines and update the latest-state cache. Returns the outcome when
   * nothing is to be written for a reason the sender must hear (dropped, refused).
   */
  private prepare(gw: GatewayIdentity, payload: Uint8Array): PreparedBatch | IngestOutcome {
    const { metrics, directory } = this.deps;
    const log = this.deps.logger;
    const recvMs = this.now();
    // The wall clock, not `now`: hops are timed against the gateway's clock (hop-timing.ts).
    const arrivedMs = Date.now();

    let decoded;
    try {
      // A gateway with uplink.compression: deflate sends the Batch as a zlib stream (docs/protocol.md).
      if (isZlibStream(payload)) payload = inflateSync(payload, { maxOutputLength: this.opts.maxPayloadBytes });
      decoded = decodeBatch(payload, this.opts.maxPayloadBytes);
    } catch (err) {
      const e = err instanceof MichiError ? err : new PayloadError(ErrorCodes.DECODE, (err as Error).message);
      const reason = reasonOf(e.code);
      metrics.batchesRejected.inc({ reason });
      log.error(
        { pilot: gw.pilot, gateway: gw.gateway, code: e.code, err: e.message, bytes: payload.byteLength },
        'batch dropped: it can never be decoded',
      );
      return { status: 'dropped', reason, error: e };
    }
    const { batch, valid } = decoded;
    if (batch.pilot_id !== gw.pilot || batch.gateway_id !== gw.gateway) {
      const reason = batch.pilot_id !== gw.pilot ? 'pilot_mismatch' : 'gateway_mismatch';
      const error = new MichiError(
        ErrorCodes.FORBIDDEN,
        `gateway "${gw.gateway}" of pilot "${gw.pilot}" sent a batch naming pilot "${batch.pilot_id}", gateway "${batch.gateway_id}"`,
        {
          pilot: gw.pilot,
          gateway: gw.gateway,
        },
      );
      metrics.batchesRejected.inc({ reason });
      log.warn(
        { pilot: gw.pilot, gateway: gw.gateway, code: error.code, reason, batchPilot: batch.pilot_id, batchGateway: batch.gateway_id },
        'batch refused',
      );
      return { status: 'refused', reason, error };
    }
    metrics.batchItems.observe(batch.items.length);

    const rejected: ItemRejection[] = [...decoded.rejected];
    const reject = (index: number, code: ErrorCode, reason: string): void => {
      rejected.push({ index, code, reason });
    };
    const lines = new LineBody(valid.length);
    const lineIndices: number[] = [];
    const touched = new TouchedHours();
    const kinds: Record<ReadingKind, number> = { state: 0, link: 0, sensor: 0, event: 0 };
    // The newest state and link sample per vehicle in this batch: only those can change the cache.
    const states = new Map<string, VehicleState>();
    const links = new Map<string, LinkSample>();
    const oldest = recvMs - this.opts.timestampWindow.pastMs;
    const newest = recvMs + this.opts.timestampWindow.futureMs;
    const ctx = { pilot: gw.pilot, gateway: gw.gateway, recvMs };
    const fieldNames = directory.fieldNames(gw.pilot);
    for (const index of valid) {
      const item = batch.items[index]!;
      const kind = readingKind(item);
      const body = readingBody(item);
      const source = directory.source(gw.pilot, body.source_id);
      const type = source?.type;
      if (type === undefined) {
        reject(
          index,
          ErrorCodes.UNKNOWN_SOURCE,
          `items[${index}]: source "${body.source_id}" is not a vehicle or sensor of pilot "${gw.pilot}"`,
        );
        continue;
      }
      if ((kind === 'state' && type !== 'vehicle') || (kind === 'sensor' && type !== 'sensor')) {
        reject(
          index,
          ErrorCodes.UNKNOWN_SOURCE,
          `items[${index}]: source "${body.source_id}" is a ${type}, which cannot send a ${kind} reading`,
        );
        continue;
      }
      // A gateway's secret vouches for its own devices only: without this check one gateway could
      // write, overwrite (same timestamp) or freeze (a future timestamp) another gateway's sources.
      if (!source!.gateways.has(gw.gateway)) {
        reject(
          index,
          ErrorCodes.SOURCE_NOT_OWNED,
          `items[${index}]: source "${body.source_id}" of pilot "${gw.pilot}" belongs to another gateway; gateway "${gw.gateway}" is not listed in its relayGatewayIds`,
        );
        continue;
      }
      const undeclared = fieldNames && undeclaredField(fieldNames, kind, item);
      if (undeclared) {
        reject(
          index,
          ErrorCodes.UNDECLARED_FIELD,
          `items[${index}]: ${undeclared.map} name ${JSON.stringify(undeclared.name)} is not declared in fieldNames.${undeclared.map} of pilot "${gw.pilot}"`,
        );
        continue;
      }
      const ts = Number(body.ts_ms);
      if (ts < oldest || ts > newest) {
        const skew =
          ts < oldest ? `${Math.round((recvMs - ts) / 1000)} s in the past` : `${Math.round((ts - recvMs) / 1000)} s in the future`;
        reject(
          index,
          ErrorCodes.CLOCK_SKEW,
          `items[${index}]: ts_ms ${ts} is ${skew} by the cloud's clock; accepted: ${this.opts.timestampWindow.pastMs} ms back to ${this.opts.timestampWindow.futureMs} ms ahead`,
        );
        continue;
      }
      try {
        lines.addReading(item, ctx);
      } catch (err) {
        const e = err as MichiError;
        reject(index, e.code ?? ErrorCodes.INVALID_READING, `items[${index}]: ${e.message}`);
        continue;
      }
      lineIndices.push(index);
      touched.add(body.source_id, ts);
      kinds[kind]++;
      if (kind === 'state') keepNewest(states, item.state as VehicleState);
      else if (kind === 'link') keepNewest(links, item.link as LinkSample);
    }

    this.hops.observe(batch, lineIndices, arrivedMs, Date.now());
    if (lines.lines > 0) {
      for (const s of states.values()) this.deps.latest.update(gw.pilot, s.source_id, snapshotFromState(s, recvMs, gw.gateway));
      for (const l of links.values()) this.deps.latest.updateLink(gw.pilot, l.source_id, linkFromSample(l));
    }
    // Before the write, like the cache: alarms follow the live feed, not InfluxDB's latency. Called
    // for a batch without valid items too: it still shows that its gateway is alive.
    this.deps.observer?.observeBatch(gw, recvMs, batch.items, lineIndices);
    return {
      lines: lines.body(),
      count: lines.lines,
      kinds,
      rejected,
      lineIndices,
      touched,
      firstSeq: batch.first_seq,
      items: batch.items.length,
    };
  }

  private countRejections(gw: GatewayIdentity, firstSeq: number, rejected: ItemRejection[]): void {
    if (rejected.length === 0) return;
    const byReason = new Map<string, number>();
    for (const r of rejected) byReason.set(reasonOf(r.code), (byReason.get(reasonOf(r.code)) ?? 0) + 1);
    for (const [reason, n] of byReason) this.deps.metrics.readingsRejected.inc({ reason }, n);
    this.deps.logger.warn(
      { pilot: gw.pilot, gateway: gw.gateway, firstSeq, rejected: rejected.length, first: rejected.slice(0, LOGGED_REJECTIONS) },
      'batch items skipped; the rest of the batch was written',
    );
  }
}
