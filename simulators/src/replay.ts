/**
 * Replays an MCAP recording into an edge (its readings' MQTT topics, the recorded protobuf bodies
 * byte for byte) or the cloud (as gateway batches), keeping the recording's relative timing scaled
 * by `speed` (1 = as recorded, 100 = a hundred times faster, Infinity = as fast as acknowledged).
 * The readings keep their source timestamps: a reading's identity is (pilot, source, kind, source
 * timestamp), so replaying into a store that already has them overwrites, never duplicates.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRecorded, openMcapReadings } from './mcap-file.js';
import type { SimReading } from './fleet.js';
import type { PublishStats, ReadingPublisher } from './publisher-mqtt.js';

export interface ReplayOptions {
  file: string;
  publisher: ReadingPublisher;
  /** Simulated (recorded) seconds per wall-clock second; Infinity: as fast as acknowledged. */
  speed?: number;
  /** Send readings of this pilot only (a file may hold several). */
  pilotId?: string;
  /** Publish the recorded bytes (default) or re-encode the decoded body (the cloud publisher needs it decoded). */
  decode?: boolean;
  /** Added to every source timestamp (needs decode): a recording replayed as if it ended now. */
  shiftMs?: number;
  maxInFlight?: number;
  drainTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface ReplayResult extends PublishStats {
  /** Recorded time covered, ms (last minus first source timestamp). */
  recordedMs: number;
  elapsedMs: number;
}

export async function replayRecording(opts: ReplayOptions): Promise<ReplayResult> {
  const speed = opts.speed ?? 1;
  const maxInFlight = opts.maxInFlight ?? 1_000;
  const shiftMs = opts.shiftMs ?? 0;
  if (shiftMs !== 0 && !opts.decode) throw new Error('replayRecording: shiftMs needs decode (the recorded bytes hold the old timestamps)');
  const file = await openMcapReadings(opts.file);
  const wallStart = performance.now();
  let firstMs: number | undefined;
  let lastMs = 0;
  try {
    for await (const r of file.readings()) {
      if (opts.signal?.aborted) break;
      if (opts.pilotId !== undefined && r.pilotId !== opts.pilotId) continue;
      firstMs ??= r.tsMs;
      lastMs = r.tsMs;
      if (Number.isFinite(speed)) {
        const waitMs = wallStart + (r.tsMs - firstMs) / speed - performance.now();
        if (waitMs > 1) await sleep(waitMs);
      }
      if (opts.publisher.inFlight >= maxInFlight) await opts.publisher.waitForCapacity(maxInFlight);
      const reading: SimReading = {
        kind: r.kind,
        pilotId: r.pilotId,
        gatewayId: r.gatewayId,
        sourceId: r.sourceId,
        topic: r.topic,
        body: opts.decode ? { ...decodeRecorded(r), ts_ms: r.tsMs + shiftMs } : { source_id: r.sourceId, ts_ms: r.tsMs },
      };
      if (opts.decode) opts.publisher.publish(reading);
      else opts.publisher.publishRaw(reading, r.payload);
    }
    await opts.publisher.drain(opts.drainTimeoutMs ?? 30_000);
  } finally {
    await file.close();
  }
  return {
    ...opts.publisher.stats(),
    recordedMs: firstMs === undefined ? 0 : lastMs - firstMs,
    elapsedMs: Math.round(performance.now() - wallStart),
  };
}
