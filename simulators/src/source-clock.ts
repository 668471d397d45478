/**
 * The clock of one simulated source. Real vehicles and sensors stamp readings with their own
 * clocks, which are off by an offset (NTP or GNSS time not yet settled) and drift (a crystal's
 * tolerance, tens of ppm). The simulator stamps with such a clock, so the receivers see what
 * pilots see: timestamps a little off the cloud's clock, differently per source.
 */
import type { Random } from './prng.js';

export interface ClockOptions {
  /** Standard deviation of the initial offset, ms (default 20). */
  offsetSdMs?: number;
  /** Standard deviation of the drift, parts per million (default 10). */
  driftSdPpm?: number;
}

export class SourceClock {
  readonly offsetMs: number;
  readonly driftPpm: number;

  constructor(rng: Random, opts: ClockOptions = {}) {
    this.offsetMs = rng.normal(0, opts.offsetSdMs ?? 20);
    this.driftPpm = rng.normal(0, opts.driftSdPpm ?? 10);
  }

  /** The source's timestamp, ms, at true time `trueMs`, `elapsedMs` after the start of the run. */
  stamp(trueMs: number, elapsedMs: number): number {
    return Math.round(trueMs + this.offsetMs + (elapsedMs * this.driftPpm) / 1e6);
  }
}
