/**
 * Times the hops of a batch's readings on their way to the live feed (issue 15) from what the
 * batch carries (sent_ts_ms; held_ms from gateways that report it) and when this process received
 * and validated it. The live feed times the last hop itself (live_push, live-client.ts). Clocks:
 * to_edge compares a vehicle's clock with its gateway's, uplink the gateway's with this machine's;
 * with NTP both are good to a few ms, and a clock ahead shows as 0, not as a negative hop.
 */
import { readingBody, type michi } from '@michi/proto';
import type { CloudMetrics } from './metrics.js';

type Hop = ReturnType<CloudMetrics['hopLatency']['labels']>;

export class HopTiming {
  private readonly toEdge: Hop;
  private readonly edgeHeld: Hop;
  private readonly uplink: Hop;
  private readonly validate: Hop;

  constructor(metrics: CloudMetrics) {
    // Bound once: observing through a label object costs a lookup per reading.
    const h = metrics.hopLatency;
    this.toEdge = h.labels('to_edge');
    this.edgeHeld = h.labels('edge_held');
    this.uplink = h.labels('uplink');
    this.validate = h.labels('validate');
  }

  /** `items`: indices of the readings that passed validation; times in ms since the epoch. */
  observe(batch: michi.v1.Batch, items: readonly number[], receivedMs: number, validatedMs: number): void {
    const validateS = (validatedMs - receivedMs) / 1000;
    const sentMs = Number(batch.sent_ts_ms);
    const uplinkS = sentMs > 0 ? Math.max(0, receivedMs - sentMs) / 1000 : undefined;
    // Empty from a gateway older than Batch.held_ms.
    const held = sentMs > 0 && batch.held_ms.length === batch.items.length ? batch.held_ms : undefined;
    for (const index of items) {
      this.validate.observe(validateS);
      if (uplinkS !== undefined) this.uplink.observe(uplinkS);
      if (held === undefined) continue;
      const heldMs = held[index]!;
      this.edgeHeld.observe(heldMs / 1000);
      const receivedAtEdge = sentMs - heldMs;
      this.toEdge.observe(Math.max(0, receivedAtEdge - Number(readingBody(batch.items[index]!).ts_ms)) / 1000);
    }
  }
}
