/**
 * The (source, UTC hour)s a batch's readings fall in, gathered while the batch is prepared and handed
 * to the rollup job once InfluxDB accepted the write (ingest-batch.ts).
 */
const HOUR_MS = 3_600_000;

export class TouchedHours {
  /** Source → hour starts. */
  readonly bySource = new Map<string, Set<number>>();
  private lastSource: string | undefined;
  private lastHour = Number.NaN;

  add(source: string, tsMs: number): void {
    const hour = Math.floor(tsMs / HOUR_MS) * HOUR_MS;
    // A batch is mostly one source's run of readings in one hour: skip the map for repeats.
    if (source === this.lastSource && hour === this.lastHour) return;
    this.lastSource = source;
    this.lastHour = hour;
    let set = this.bySource.get(source);
    if (!set) this.bySource.set(source, (set = new Set()));
    set.add(hour);
  }
}

/** Told which hours a written batch touched: the rollup job (rollup-job.ts). */
export interface RollupMarks {
  markWritten(pilot: string, touched: TouchedHours): void;
}
