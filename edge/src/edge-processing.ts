/**
 * Edge processing of accepted readings, per the pilot's configuration (`processing.*`), before
 * they are buffered:
 * - downsampling per kind: at most one reading per source every minIntervalMs of source time
 *   (e.g. link samples once a second);
 * - a deadband for vehicle states: a state that moved less than positionM and changed speed by less
 *   than speedMps, in the same autonomy mode, is dropped, unless maxIntervalMs passed since the last
 *   one kept;
 * - clock-skew detection: each reading's source timestamp against the gateway's clock.
 * Events are never filtered. Source timestamps are never changed. A filtered reading is
 * acknowledged to its sender (it was received and deliberately not kept) and counted.
 */
import type { michi, ReadingKind } from '@michi/proto';

export interface ProcessingOptions {
  /** Per kind; 0 keeps every reading. */
  minIntervalMs: { state: number; link: number; sensor: number };
  stateDeadband: { positionM: number; speedMps: number; maxIntervalMs: number };
  /** A reading whose ts_ms is further than this from the gateway's clock counts as skewed. */
  clockSkewWarnMs: number;
}

export type FilterReason = 'downsample' | 'deadband';
export const FILTER_REASONS: readonly FilterReason[] = ['downsample', 'deadband'];

export interface ProcessingVerdict {
  keep: boolean;
  reason?: FilterReason;
  /** Source timestamp minus the gateway's clock at receipt, ms (negative: behind, or delayed). */
  offsetMs: number;
  skewed: boolean;
}

interface LastKept {
  tsMs: number;
  lat: number;
  lon: number;
  speed: number;
  mode: number;
}

const EARTH_RADIUS_M = 6_371_008.8;

/** Great-circle distance in metres (haversine); a few metres apart it is exact enough. */
function distanceM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

export class EdgeProcessing {
  private readonly opts: ProcessingOptions;
  /** Keyed "source/kind"; sources are bounded by the pilot definition, so is this map. */
  private readonly last = new Map<string, LastKept>();

  constructor(opts: ProcessingOptions) {
    this.opts = opts;
  }

  /** Decides about one accepted reading of `source` received at `nowMs`; remembers it when kept. */
  process(reading: michi.v1.Reading.$Properties, kind: ReadingKind, source: string, nowMs: number): ProcessingVerdict {
    const body = (reading[kind] ?? {}) as { ts_ms?: number | { toNumber(): number } | null };
    const tsMs = typeof body.ts_ms === 'number' ? body.ts_ms : Number(body.ts_ms ?? 0);
    const offsetMs = tsMs - nowMs;
    const skewed = Math.abs(offsetMs) > this.opts.clockSkewWarnMs;
    if (kind === 'event') return { keep: true, offsetMs, skewed };

    const key = `${source}/${kind}`;
    const prev = this.last.get(key);
    const state = kind === 'state' ? (reading.state ?? undefined) : undefined;
    const next: LastKept = {
      tsMs,
      lat: state?.position?.lat ?? 0,
      lon: state?.position?.lon ?? 0,
      speed: state?.speed_mps ?? 0,
      mode: state?.mode ?? 0,
    };
    // A source whose clock went back (a reboot, a fix of its clock) starts afresh.
    if (prev && tsMs >= prev.tsMs) {
      const elapsed = tsMs - prev.tsMs;
      if (elapsed < this.opts.minIntervalMs[kind]) return { keep: false, reason: 'downsample', offsetMs, skewed };
      const band = this.opts.stateDeadband;
      if (state && (band.positionM > 0 || band.speedMps > 0) && elapsed < band.maxIntervalMs && next.mode === prev.mode) {
        const moved = distanceM(prev.lat, prev.lon, next.lat, next.lon);
        if (moved < band.positionM && Math.abs(next.speed - prev.speed) < band.speedMps) {
          return { keep: false, reason: 'deadband', offsetMs, skewed };
        }
      }
    }
    this.last.set(key, next);
    return { keep: true, offsetMs, skewed };
  }
}
