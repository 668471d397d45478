/**
 * Faults a real fleet produces, injected between the simulator and its publisher so receivers can
 * be tested against them: duplicates (a modem resending after a lost PUBACK), malformed payloads
 * (a firmware bug; receivers must drop them and carry on) and bursts (a source that lost its link
 * holds its readings and sends them all at once when it is back). Deterministic: its own random
 * stream, derived from the run's seed, so the fleet's readings are the same with or without faults.
 */
import { deriveSeed, mulberry32, type Random } from './prng.js';
import type { SimReading } from './fleet.js';

export interface FaultOptions {
  /** Probability that a reading is published twice. */
  duplicateRate?: number;
  /** Probability that a malformed payload is published (on the reading's topic) before a reading. */
  malformedRate?: number;
  /** Bursts begun per source per simulated hour. */
  burstsPerH?: number;
  /** How long a burst holds a source's readings, simulated seconds. */
  burstS?: number;
}

/** One thing to publish: a reading, or (`raw` set) a malformed payload on its topic. */
export interface FaultOutput {
  reading: SimReading;
  raw?: Uint8Array;
}

export class FaultInjector {
  private readonly rng: Random;
  private readonly duplicateRate: number;
  private readonly malformedRate: number;
  private readonly burstsPerH: number;
  private readonly burstS: number;
  /** Sources in a burst: until when, and what they hold. */
  private readonly holding = new Map<string, { untilS: number; held: SimReading[] }>();
  /** Simulated time each source was last seen, for the burst hazard. */
  private readonly lastSeenS = new Map<string, number>();
  private counts = { duplicates: 0, malformed: 0, bursts: 0 };
  readonly enabled: boolean;

  constructor(seed: number, opts: FaultOptions = {}) {
    this.rng = mulberry32(deriveSeed(seed, 'faults'));
    this.duplicateRate = opts.duplicateRate ?? 0;
    this.malformedRate = opts.malformedRate ?? 0;
    this.burstsPerH = opts.burstsPerH ?? 0;
    this.burstS = opts.burstS ?? 30;
    this.enabled = this.duplicateRate > 0 || this.malformedRate > 0 || this.burstsPerH > 0;
  }

  /** What to publish for `reading`, made at simulated time `nowS`. */
  apply(reading: SimReading, nowS: number): FaultOutput[] {
    if (!this.enabled) return [{ reading }];
    const out: FaultOutput[] = [];
    if (this.malformedRate > 0 && this.rng.next() < this.malformedRate) {
      this.counts.malformed++;
      out.push({ reading, raw: this.garbage() });
    }
    const source = reading.sourceId;
    let hold = this.holding.get(source);
    if (hold && nowS >= hold.untilS) {
      this.holding.delete(source);
      for (const r of hold.held) out.push({ reading: r });
      hold = undefined;
    }
    if (!hold && this.burstsPerH > 0) {
      const since = nowS - (this.lastSeenS.get(source) ?? nowS);
      if (since > 0 && this.rng.next() < 1 - Math.exp((-this.burstsPerH * since) / 3600)) {
        this.counts.bursts++;
        hold = { untilS: nowS + this.burstS, held: [] };
        this.holding.set(source, hold);
      }
    }
    this.lastSeenS.set(source, nowS);
    if (hold) {
      hold.held.push(reading);
      return out;
    }
    out.push({ reading });
    if (this.duplicateRate > 0 && this.rng.next() < this.duplicateRate) {
      this.counts.duplicates++;
      out.push({ reading });
    }
    return out;
  }

  /** Everything still held by bursts, at the end of a run. */
  flush(): FaultOutput[] {
    const out = [...this.holding.values()].flatMap((h) => h.held.map((reading) => ({ reading })));
    this.holding.clear();
    return out;
  }

  stats(): { duplicates: number; malformed: number; bursts: number } {
    return { ...this.counts };
  }

  /** Bytes that are neither a valid protobuf body nor JSON: a truncated varint field. */
  private garbage(): Uint8Array {
    const n = 3 + Math.floor(this.rng.next() * 12);
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = Math.floor(this.rng.next() * 256);
    bytes[0] = 0xff; // field 31, wire type 7: invalid in any protobuf message, and not '{'
    bytes[n - 1] = 0x80; // and a varint that never ends
    return bytes;
  }
}
