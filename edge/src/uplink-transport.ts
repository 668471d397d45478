/**
 * The contract between the uplink's scheduler (uplink-scheduler.ts) and its transports (MQTT,
 * gRPC), and what the uplink reports: its state changes, acknowledgements and statistics.
 */
import type { ReconnectReason } from './metrics.js';

export type UplinkState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface UplinkStateChange {
  state: UplinkState;
  /** For `disconnected`: what ended the attempt, the error if any, and when the next one starts. */
  reason?: ReconnectReason;
  error?: string;
  retryInMs?: number;
}

export interface UplinkEvents {
  state: [UplinkStateChange];
  acked: [{ firstSeq: number; count: number }];
}

/** One connection attempt of a transport. */
export interface UplinkLink {
  /**
   * Sends one encoded Batch; `acked` runs once the cloud acknowledged it, with the readings it
   * refused to store if it says so (their index in the batch and code), or with the error that
   * stopped it.
   */
  send(batch: Uint8Array, acked: (err?: Error, rejected?: readonly UplinkRejection[]) => void): void;
  /** Closes the connection; what is unacknowledged stays in the buffer. */
  end(): Promise<void>;
}

/** What a link reports, each at most once: `up` when batches may be sent, `down` when it is over. */
export interface UplinkLinkEvents {
  up(): void;
  /**
   * `verdict`, when the cloud ended the connection itself: `refused` the gateway's credentials (or
   * its identity), or asked to `retry` (InfluxDB did not take a batch). Without it: network trouble.
   */
  down(error: Error | undefined, verdict?: UplinkVerdict): void;
}

/** The cloud's reasons for ending a connection, as reconnect reasons (metrics.ts). */
export type UplinkVerdict = Extract<ReconnectReason, 'refused' | 'retry'>;

/** A reading the cloud acknowledged without storing it (it can never be stored). */
export interface UplinkRejection {
  index: number;
  code: string;
  reason: string;
}

export interface UplinkTransport {
  /** Where it connects to, for the log (never with credentials). */
  readonly target: string;
  open(events: UplinkLinkEvents): UplinkLink;
}

export type UplinkStream = 'event' | 'live' | 'backlog';

export interface UplinkStats {
  state: UplinkState;
  inflightBatches: number;
  inflightReadings: number;
  /** The highest seq published on the current connection, per stream. */
  cursors: Record<UplinkStream, number>;
  /** The highest seq buffered when the connection came up: the backlog ends there. */
  backlogUpTo: number;
  /** Whether the backlog of this connection is still being sent. */
  backlogDraining: boolean;
}
