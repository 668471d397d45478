/**
 * The cloud's Prometheus metrics, served at /metrics. Each service instance owns its registry, so
 * two instances in one process (tests, a worker pool) never mix their counts. Every drop, refusal
 * and failed write is counted with a `reason` label; label values are fixed words, never ids or
 * secrets.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class CloudMetrics {
  readonly registry: Registry;
  /** Readings written to InfluxDB (and acknowledged), by kind. */
  readonly readingsAccepted: Counter<'kind'>;
  /** Readings of an accepted batch that were skipped: invalid_reading, unknown_source, source_not_owned, undeclared_field, clock_skew, unrepresentable, storage_invalid. */
  readonly readingsRejected: Counter<'reason'>;
  /**
   * Whole batches refused (connection closed: forbidden_topic, pilot_mismatch, gateway_mismatch, storage_*),
   * dropped as undecodable (acknowledged: decode, too_large), and other refused MQTT requests (will, forbidden_subscribe).
   */
  readonly batchesRejected: Counter<'reason'>;
  readonly batchItems: Histogram;
  readonly failedLogins: Counter<'reason'>;
  readonly connectedGateways: Gauge;
  readonly writeSeconds: Histogram<'outcome'>;
  readonly writeRequestLines: Histogram;
  readonly writeFailures: Counter<'reason'>;
  readonly pendingLines: Gauge;
  // Ingest endpoints (ingest-mqtt.ts, ingest-grpc.ts, worker.ts): `transport` is mqtt, mqtts, grpc or worker.
  /** Batches acknowledged to their sender after the write, by transport. */
  readonly batchesAccepted: Counter<'transport'>;
  /** Connections, streams or logins refused or closed by a limit or a security check, by transport and reason. */
  readonly ingestRefusals: Counter<'transport' | 'reason'>;
  /** Batches received and not yet acknowledged (or refused), by transport. */
  readonly pendingAcks: Gauge<'transport'>;
  /** Seconds from receiving a batch to acknowledging it, by transport. */
  readonly ackSeconds: Histogram<'transport'>;
  /** When each gateway last had a batch acknowledged (Unix seconds); gateway ids come from the seeds, so the set is bounded. */
  readonly gatewayLastSeen: Gauge<'pilot' | 'gateway'>;
  /**
   * API requests refused: unauthenticated (401), forbidden (403), bad_request (400), not_found (404 under /api);
   * by api.limits: rate_limited and busy (429), timeout (504), too_large (422).
   */
  readonly apiRefusals: Counter<'reason'>;
  // The WebSocket live feed (live/).
  /** Open live feed connections. */
  readonly liveClients: Gauge;
  /** Vehicle states sent on the live feed (one per vehicle, whether alone or in a `states` message). */
  readonly liveUpdatesSent: Counter;
  /** Live feed updates overtaken by a newer state of the same vehicle before they were sent: throttled, slow_client. */
  readonly liveUpdatesDropped: Counter<'reason'>;
  /** Live feed upgrades refused by a live-feed check: origin (403), subprotocol (400), connections_per_token (429). */
  readonly liveRefusals: Counter<'reason'>;
  /** Alarms raised and not cleared, by severity (docs/alarms.md). */
  readonly alarmsOpen: Gauge<'severity'>;
  /** Alarm changes (raised, updated, acknowledged, escalated, cleared), by kind and rule. */
  readonly alarmChanges: Counter<'kind' | 'rule'>;
  /** Alarm changes that could not be stored (and so reached no listener or sink), by reason. */
  readonly alarmStoreFailures: Counter<'reason'>;
  /** Operators' acknowledge and clear requests, by action and result (done, not_found, already_cleared, invalid). */
  readonly alarmActions: Counter<'action' | 'result'>;
  /** Incident bundles asked for over the API or the command, by result (written, bad_window, unknown_vehicle, failed). */
  readonly incidentBundles: Counter<'result'>;

  constructor(registry = new Registry(), { defaultMetrics = true } = {}) {
    this.registry = registry;
    const registers = [registry];
    if (defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'michi_cloud_' });
    this.readingsAccepted = new Counter({
      name: 'michi_cloud_readings_accepted_total',
      help: 'Readings written to InfluxDB and acknowledged, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.readingsRejected = new Counter({
      name: 'michi_cloud_readings_rejected_total',
      help: 'Readings skipped by ingest (the rest of their batch was written), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.batchesRejected = new Counter({
      name: 'michi_cloud_batches_rejected_total',
      help: 'Upstream batches refused (connection closed) or dropped as undecodable, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.batchItems = new Histogram({
      name: 'michi_cloud_batch_items',
      help: 'Items per upstream batch received.',
      buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000],
      registers,
    });
    this.failedLogins = new Counter({
      name: 'michi_cloud_failed_logins_total',
      help: 'Gateway logins refused, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.connectedGateways = new Gauge({
      name: 'michi_cloud_connected_gateways',
      help: 'Gateways connected to the MQTT ingest.',
      registers,
    });
    this.writeSeconds = new Histogram({
      name: 'michi_cloud_influx_write_seconds',
      help: 'Duration of InfluxDB /write requests, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.writeRequestLines = new Histogram({
      name: 'michi_cloud_influx_write_lines',
      help: 'Lines per InfluxDB /write request.',
      buckets: [1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 25_000],
      registers,
    });
    this.writeFailures = new Counter({
      name: 'michi_cloud_influx_write_failures_total',
      help: 'InfluxDB writes that failed or were refused before sending, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.pendingLines = new Gauge({
      name: 'michi_cloud_influx_pending_lines',
      help: 'Lines waiting for or in an InfluxDB /write request.',
      registers,
    });
    this.batchesAccepted = new Counter({
      name: 'michi_cloud_batches_accepted_total',
      help: 'Upstream batches acknowledged after InfluxDB accepted their readings, by transport.',
      labelNames: ['transport'],
      registers,
    });
    this.ingestRefusals = new Counter({
      name: 'michi_cloud_ingest_refusals_total',
      help: 'Connections, streams or requests refused or closed by a limit or a security check, by transport and reason.',
      labelNames: ['transport', 'reason'],
      registers,
    });
    this.pendingAcks = new Gauge({
      name: 'michi_cloud_pending_acks',
      help: 'Batches received and not yet acknowledged, by transport.',
      labelNames: ['transport'],
      registers,
    });
    this.ackSeconds = new Histogram({
      name: 'michi_cloud_batch_ack_seconds',
      help: 'Seconds from receiving a batch to acknowledging it (includes the InfluxDB write), by transport.',
      labelNames: ['transport'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.gatewayLastSeen = new Gauge({
      name: 'michi_cloud_gateway_last_seen_seconds',
      help: 'Unix time of the last batch acknowledged to each gateway.',
      labelNames: ['pilot', 'gateway'],
      registers,
    });
    this.apiRefusals = new Counter({
      name: 'michi_cloud_api_refusals_total',
      help: 'HTTP API requests refused, by reason (unauthenticated, forbidden, bad_request, not_found, rate_limited, busy, timeout, too_large).',
      labelNames: ['reason'],
      registers,
    });
    this.liveClients = new Gauge({ name: 'michi_cloud_live_clients', help: 'Open live feed connections.', registers });
    this.liveUpdatesSent = new Counter({
      name: 'michi_cloud_live_updates_sent_total',
      help: 'Live feed state messages sent.',
      registers,
    });
    this.liveUpdatesDropped = new Counter({
      name: 'michi_cloud_live_updates_dropped_total',
      help: 'Live feed updates overtaken by a newer state of the same vehicle before they were sent, by reason (throttled, slow_client).',
      labelNames: ['reason'],
      registers,
    });
    this.liveRefusals = new Counter({
      name: 'michi_cloud_live_refused_total',
      help: 'Live feed upgrades refused by reason: origin (403), subprotocol (bearer.* without michi.v1, 400), connections_per_token (429).',
      labelNames: ['reason'],
      registers,
    });
    // Alarm webhooks (alarms/webhook-outbox.ts).
    this.webhookDeliveries = new Counter({
      name: 'michi_cloud_webhook_deliveries_total',
      help: 'Alarm webhook POST attempts, by webhook and result (delivered, refused, server_error, throttled, timeout, unreachable).',
      labelNames: ['webhook', 'result'],
      registers,
    });
    this.webhookOutboxPending = new Gauge({
      name: 'michi_cloud_webhook_outbox_pending',
      help: 'Alarm notifications waiting in the webhook outbox (not yet delivered or given up), by webhook.',
      labelNames: ['webhook'],
      registers,
    });
    this.alarmsOpen = new Gauge({
      name: 'michi_cloud_alarms_open',
      help: 'Alarms raised and not yet cleared (active or acknowledged), by severity.',
      labelNames: ['severity'],
      registers,
    });
    this.alarmChanges = new Counter({
      name: 'michi_cloud_alarm_changes_total',
      help: 'Alarm changes, by kind (raised, updated, acknowledged, escalated, cleared) and rule.',
      labelNames: ['kind', 'rule'],
      registers,
    });
    this.alarmStoreFailures = new Counter({
      name: 'michi_cloud_alarm_store_failures_total',
      help: 'Alarm changes that could not be written to the alarm database, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.alarmActions = new Counter({
      name: 'michi_cloud_alarm_actions_total',
      help: "Operators' alarm actions over the API, by action (acknowledge, clear) and result (done, not_found, already_cleared, invalid).",
      labelNames: ['action', 'result'],
      registers,
    });
    this.incidentBundles = new Counter({
      name: 'michi_cloud_incident_bundles_total',
      help: 'Incident bundles asked for (API and michi-cloud incident-bundle), by result (written, bad_window, unknown_vehicle, failed).',
      labelNames: ['result'],
      registers,
    });
  }

  // Alarm webhooks (alarms/webhook-outbox.ts). `webhook` is a configured id, so the set is bounded.
  /** POST attempts by result: delivered, refused (other 4xx and 3xx: given up), server_error, throttled (408, 429), timeout, unreachable. */
  readonly webhookDeliveries: Counter<'webhook' | 'result'>;
  /** Notifications in the outbox not yet delivered or given up, by webhook. */
  readonly webhookOutboxPending: Gauge<'webhook'>;

  // Per-hop latency of the live path (issue 15): hop-timing.ts and the live feed observe it,
  // bench/latency.bench.ts prints it. Created on first use (BatchIngest's constructor), so that
  // this block needs nothing in the constructor.
  private hopLatencyHistogram: Histogram<'hop'> | undefined;
  /**
   * Seconds per hop of a reading (CLOUD_HOPS): to_edge (source timestamp to the gateway's receipt),
   * edge_held (receipt to the gateway sending its batch), uplink (sent to received here), validate
   * (received to validated and in the latest-state cache), live_push (validated to sent on a live
   * feed connection, per connection). The first two come from the batch (Batch.held_ms).
   */
  get hopLatency(): Histogram<'hop'> {
    if (!this.hopLatencyHistogram) {
      this.hopLatencyHistogram = new Histogram({
        name: 'michi_cloud_hop_latency_seconds',
        help: 'Seconds per hop of a reading to the live feed: to_edge, edge_held (from the batch), uplink (gateway sent to received here), validate, live_push (validated to sent, per live connection).',
        labelNames: ['hop'],
        // From the 1 ms floor per hop to 5 s (a batch held through a reconnect).
        buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5],
        registers: [this.registry],
      });
      for (const hop of CLOUD_HOPS) this.hopLatencyHistogram.zero({ hop });
    }
    return this.hopLatencyHistogram;
  }
}

const CLOUD_HOPS = ['to_edge', 'edge_held', 'uplink', 'validate', 'live_push'] as const;
