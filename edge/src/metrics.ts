/**
 * The agent's Prometheus metrics and the small HTTP server that serves them (/metrics) with a
 * liveness answer (/healthz). Every drop, rejection and retry has a counter with a reason label;
 * the label sets are closed and pre-initialized at 0, so a dashboard sees a reason before it occurs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';
import { READING_KINDS, type ReadingKind } from '@michi/proto';
import { AUTH_REFUSALS, BROKER_REFUSALS, REJECT_REASON_CODES, REJECT_REASONS, type RejectReason } from './errors.js';
import type { BufferStats } from './buffer-store.js';
import { LabeledHistogram } from './hop-histogram.js';

export const RECONNECT_REASONS = ['connect_failed', 'refused', 'connection_lost', 'retry'] as const;
export type ReconnectReason = (typeof RECONNECT_REASONS)[number];
export const SUBSCRIBE_REFUSALS = ['not_own_topic'] as const;
export type SubscribeRefusal = (typeof SUBSCRIBE_REFUSALS)[number];

/** What the gauges read when Prometheus scrapes; set once the parts exist. */
export interface MetricProbes {
  buffer?: () => BufferStats;
  uplinkConnected?: () => boolean;
  uplinkInflightBatches?: () => number;
  uplinkBacklogDraining?: () => boolean;
  localClients?: () => number;
  /** Source timestamp minus the gateway clock at receipt, ms, per source (the latest reading). */
  clockOffsets?: () => ReadonlyMap<string, number>;
}

export interface EdgeMetrics {
  readonly registry: Registry;
  readonly probes: MetricProbes;
  /** Readings from local clients committed to the buffer (hence acknowledged), by kind. */
  readonly received: Counter<'kind'>;
  /**
   * Counts one received reading: tallied here and added to `received` when it is read. A labelled
   * inc() per reading costs prom-client a hash of its labels (about 1 µs).
   */
  readonly receivedOne: (kind: ReadingKind) => void;
  readonly rejected: Counter<'reason' | 'code'>;
  /** Readings the cloud acknowledged (then deleted from the buffer). */
  readonly forwarded: Counter;
  readonly batchesAcked: Counter;
  /** Upstream bytes: `batch` as encoded, `sent` after compression (equal without it). */
  readonly uplinkBytes: Counter<'stage'>;
  /** Upstream batches published, by stream (event, live, backlog). */
  readonly batchesSent: Counter<'stream'>;
  /** Readings published again because their batch was unacknowledged when the connection dropped. */
  readonly resent: Counter<'reason'>;
  readonly reconnects: Counter<'reason'>;
  /** Readings the cloud acknowledged without storing them, by MICHI_ERR_* code (gRPC only: a PUBACK says nothing). */
  readonly uplinkRejected: Counter<'code'>;
  readonly subscribeRefused: Counter<'reason'>;
  /** Readings received, acknowledged and deliberately not kept by edge processing (downsample, deadband). */
  readonly filtered: Counter<'reason' | 'kind'>;
  /** Readings whose source timestamp was further than processing.clockSkewWarnMs from the gateway clock. */
  readonly clockSkewed: Counter<'source'>;
  readonly connectionsRefused: Counter<'reason'>;
  /**
   * Buffered readings removed without the cloud's acknowledgement: evicted by the buffer-full
   * policy (reason buffer_full, by kind) or rows that do not decode (corrupt, kind unknown).
   */
  readonly dropped: Counter<'reason' | 'kind'>;

  // ---- per-hop latency of the live path (issue 15) ----
  /**
   * Seconds per hop of a reading through this agent: `receive` from its source timestamp to its
   * receipt here (the vehicle's clock against the gateway's), `held` from receipt until its batch
   * was sent upstream (the batching policy's share; live and event readings, not a backlog), and,
   * once per batch, `acked` from sending until the cloud acknowledged it (after its InfluxDB write).
   */
  readonly hopLatency: LabeledHistogram<EdgeHop>;
}

const EDGE_HOPS = ['receive', 'held', 'acked'] as const;
type EdgeHop = (typeof EDGE_HOPS)[number];
/** From 1 ms (the floor per hop with TCP_NODELAY) to 5 s (a reading held through a reconnect). */
const HOP_BUCKETS_S = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5];

export function createEdgeMetrics(registry: Registry): EdgeMetrics {
  const registers = [registry];
  const probes: MetricProbes = {};
  const receivedTally: Record<ReadingKind, number> = { state: 0, link: 0, sensor: 0, event: 0 };
  const m: EdgeMetrics = {
    registry,
    probes,
    received: new Counter({
      name: 'michi_edge_received_total',
      help: 'Readings from local clients committed to the buffer and acknowledged',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const kind of READING_KINDS) {
          if (receivedTally[kind] === 0) continue;
          this.inc({ kind }, receivedTally[kind]);
          receivedTally[kind] = 0;
        }
      },
    }),
    receivedOne: (kind) => {
      receivedTally[kind]++;
    },
    rejected: new Counter({
      name: 'michi_edge_rejected_total',
      help: 'Readings refused by the local broker, by reason (and stable error code)',
      labelNames: ['reason', 'code'],
      registers,
    }),
    forwarded: new Counter({
      name: 'michi_edge_forwarded_total',
      help: 'Readings acknowledged by the cloud and removed from the buffer',
      registers,
    }),
    batchesAcked: new Counter({
      name: 'michi_edge_uplink_batches_acked_total',
      help: 'Upstream batches acknowledged by the cloud',
      registers,
    }),
    uplinkBytes: new Counter({
      name: 'michi_edge_uplink_bytes_total',
      help: 'Upstream Batch bytes: stage="batch" as encoded, stage="sent" as published (after uplink.compression)',
      labelNames: ['stage'],
      registers,
    }),
    batchesSent: new Counter({
      name: 'michi_edge_uplink_batches_sent_total',
      help: 'Upstream batches published, by stream: event (jumps the queue), live, backlog (rate-capped)',
      labelNames: ['stream'],
      registers,
    }),
    resent: new Counter({
      name: 'michi_edge_uplink_resent_total',
      help: 'Readings published upstream again, by reason',
      labelNames: ['reason'],
      registers,
    }),
    reconnects: new Counter({
      name: 'michi_edge_uplink_reconnects_total',
      help: 'Uplink reconnection attempts, by what ended the previous one',
      labelNames: ['reason'],
      registers,
    }),
    connectionsRefused: new Counter({
      name: 'michi_edge_connections_refused_total',
      help: 'Local MQTT connections and gRPC streams refused by device authentication or closed by the broker limits, by reason',
      labelNames: ['reason'],
      registers,
    }),
    dropped: new Counter({
      name: 'michi_edge_buffer_dropped_total',
      help: 'Buffered readings removed without the cloud acknowledging them, by reason and kind',
      labelNames: ['reason', 'kind'],
      registers,
    }),
    filtered: new Counter({
      name: 'michi_edge_filtered_total',
      help: 'Readings acknowledged and not kept by edge processing, by reason (downsample, deadband) and kind',
      labelNames: ['reason', 'kind'],
      registers,
    }),
    clockSkewed: new Counter({
      name: 'michi_edge_clock_skewed_total',
      help: 'Readings whose source timestamp was off the gateway clock by more than processing.clockSkewWarnMs, by source',
      labelNames: ['source'],
      registers,
    }),
    uplinkRejected: new Counter({
      name: 'michi_edge_uplink_rejected_total',
      help: 'Readings the cloud acknowledged but refused to store, by error code (gRPC uplink only; deleted from the buffer)',
      labelNames: ['code'],
      registers,
    }),
    subscribeRefused: new Counter({
      name: 'michi_edge_subscribe_refused_total',
      help: 'Local SUBSCRIBE filters refused, by reason',
      labelNames: ['reason'],
      registers,
    }),

    // ---- per-hop latency of the live path (issue 15) ----
    hopLatency: new LabeledHistogram({
      name: 'michi_edge_hop_latency_seconds',
      help: 'Seconds per hop of a reading: receive (source timestamp to receipt here), held (receipt to sent upstream; live and event readings), acked (per batch: sent to acknowledged by the cloud)',
      label: 'hop',
      values: EDGE_HOPS,
      buckets: HOP_BUCKETS_S,
      registers,
    }),
  };
  for (const kind of READING_KINDS) m.received.inc({ kind }, 0);
  for (const reason of REJECT_REASONS) m.rejected.inc({ reason, code: REJECT_REASON_CODES[reason] }, 0);
  for (const reason of RECONNECT_REASONS) m.reconnects.inc({ reason }, 0);
  for (const reason of SUBSCRIBE_REFUSALS) m.subscribeRefused.inc({ reason }, 0);
  m.resent.inc({ reason: 'reconnect' }, 0);
  for (const reason of AUTH_REFUSALS) m.connectionsRefused.inc({ reason }, 0);
  for (const reason of BROKER_REFUSALS) m.connectionsRefused.inc({ reason }, 0);
  m.dropped.inc({ reason: 'corrupt', kind: 'unknown' }, 0);
  for (const kind of READING_KINDS) if (kind !== 'event') m.dropped.inc({ reason: 'buffer_full', kind }, 0);
  for (const stream of ['event', 'live', 'backlog']) m.batchesSent.inc({ stream }, 0);
  for (const stage of ['batch', 'sent']) m.uplinkBytes.inc({ stage }, 0);
  for (const reason of ['downsample', 'deadband']) for (const kind of ['state', 'link', 'sensor']) m.filtered.inc({ reason, kind }, 0);

  gauge(registry, 'michi_edge_buffer_depth', 'Readings in the buffer not yet acknowledged by the cloud', () => probes.buffer?.().depth);
  gauge(registry, 'michi_edge_buffer_bytes', 'Payload bytes in the buffer (bounded by buffer.maxBytes)', () => probes.buffer?.().bytes);
  gauge(registry, 'michi_edge_buffer_oldest_age_seconds', 'Age of the oldest buffered reading (0 when empty)', () => {
    const oldest = probes.buffer?.().oldestTs;
    return oldest === undefined ? undefined : oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
  });
  gauge(registry, 'michi_edge_uplink_connected', '1 while the uplink to the cloud is connected', () =>
    Number(probes.uplinkConnected?.() ?? 0),
  );
  gauge(registry, 'michi_edge_uplink_inflight_batches', 'Batches published and not yet acknowledged', () =>
    probes.uplinkInflightBatches?.(),
  );
  gauge(registry, 'michi_edge_uplink_backlog_draining', '1 while the backlog of the current connection is being sent', () =>
    Number(probes.uplinkBacklogDraining?.() ?? 0),
  );
  new Gauge({
    name: 'michi_edge_source_clock_offset_seconds',
    help: "A source's last reading: its timestamp minus the gateway clock at receipt (negative: behind, or delayed in transit)",
    labelNames: ['source'],
    registers: [registry],
    collect() {
      for (const [source, ms] of probes.clockOffsets?.() ?? []) this.set({ source }, ms / 1000);
    },
  });
  gauge(registry, 'michi_edge_local_clients', 'MQTT clients connected to the local broker', () => probes.localClients?.());
  return m;
}

/** Counts a rejection under its reason, with its stable code beside it (docs/errors.md). */
export function countRejection(m: EdgeMetrics, reason: RejectReason): void {
  m.rejected.inc({ reason, code: REJECT_REASON_CODES[reason] });
}

function gauge(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const v = read();
      if (v !== undefined) this.set(v);
    },
  });
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves /metrics (Prometheus text format) and /healthz (JSON from `health`). */
export async function startMetricsServer(opts: {
  host: string;
  port: number;
  registry: Registry;
  health: () => Record<string, unknown>;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${err.message}\n`),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...opts.health() }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
