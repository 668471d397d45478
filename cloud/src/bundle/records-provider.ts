/**
 * Where an incident bundle takes a vehicle's operating-state record from (docs/incident-bundles.md,
 * "Records"): an excerpt of its hash chain for the window, and the proof that the excerpt links up.
 * The record itself is another module's (cloud/src/records/, docs/records.md; record-excerpt.ts reads
 * it); without a provider (records.enabled false) a bundle says in its manifest that it has no records.
 */

/** One entry of the record as stored, and its hash (hex SHA-256, as the record computes it). */
export interface RecordEntryWithHash {
  entry: Record<string, unknown>;
  hash: string;
}

export interface RecordsExcerpt {
  /** The hash of the entry before the excerpt's first entry (the chain's genesis hash when there is none); null for no entries. */
  prevHash: string | null;
  /**
   * The entries of the window in chain order, as one unbroken run of the chain (consecutive n): an
   * entry received late sits in the chain after entries of later source time, so the run goes from
   * the first to the last entry whose source time is in the window, with whatever lies between.
   */
  entries: RecordEntryWithHash[];
  /** How a verifier recomputes each entry's hash (a sentence or a document reference). */
  hashRule: string;
}

export interface RecordsProvider {
  /** The excerpt of `vehicle`'s record over [fromMs, toMs] (source time, both inclusive). */
  excerpt(pilot: string, vehicle: string, fromMs: number, toMs: number): Promise<RecordsExcerpt> | RecordsExcerpt;
}
