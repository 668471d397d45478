/**
 * One entry of a vehicle's operating-state record (作動状態記録) and its hash. The entry's fields
 * are public surface: a third party verifies the record with docs/records.md alone, so a field is
 * never renamed and the format version `v` changes with any change of meaning.
 */
import { canonicalJson, sha256Hex, type CanonicalValue } from './canonical-json.js';

export const RECORD_FORMAT_VERSION = 1;

/** prevHash of a chain's first entry: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** Event types recorded, by the entry kind they become (telemetry.proto EventType without its prefix). */
export const RECORDED_EVENTS = {
  TAKEOVER: 'takeover',
  DISENGAGEMENT: 'disengagement',
  EMERGENCY_STOP: 'emergency-stop',
  REMOTE_INTERVENTION: 'remote-intervention',
} as const;

export const RECORD_KINDS = ['mode-change', ...Object.values(RECORDED_EVENTS), 'retention'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export interface EntryPosition {
  /** Degrees × 10^7, rounded: integers, so the canonical form has one spelling (about 1 cm). */
  latE7: number;
  lonE7: number;
  /** `reading`: the reading's own position; `latest-state`: the vehicle's newest state before it was recorded. */
  from: 'reading' | 'latest-state';
}

export interface ModeChangeData {
  /** null: the first state of this vehicle the record has (nothing earlier known when appended). */
  fromMode: string | null;
  /** Source time of the observation in fromMode: the change happened after it, at or before sourceTsMs. */
  fromTsMs: number | null;
  toMode: string;
}

export interface EventData {
  type: string;
  cause: string;
  severity: string;
  detail: string;
  durationMs: number;
}

export interface RetentionData {
  removedCount: number;
  /** n of the last entry removed: the chain now starts at removedThroughN + 1. */
  removedThroughN: number;
  /** hash of that entry: the prevHash of the first entry kept. */
  lastRemovedHash: string;
  /** Entries received (recvMs) before this cloud time were removed. */
  cutoffMs: number;
}

/** The content of an entry before it is chained (n and prevHash are the store's to give). */
export interface EntryDraft {
  pilot: string;
  vehicle: string;
  kind: RecordKind;
  /** Source time of the reading (for retention: the cloud time it ran). */
  sourceTsMs: number;
  /** Cloud time the reading was received (for retention: the cloud time it ran). */
  recvMs: number;
  gateway: string | null;
  /** The reading's identity besides (pilot, vehicle, sourceTsMs): its kind and per-source sequence number. */
  reading: { kind: 'state' | 'event'; seq: string } | null;
  position: EntryPosition | null;
  /** Received after a reading of this vehicle with a later source time (out of source-time order). */
  late: boolean;
  data: ModeChangeData | EventData | RetentionData;
}

export interface RecordEntry extends EntryDraft {
  v: number;
  /** Position in the vehicle's chain, from 0; never reused, kept when older entries are removed. */
  n: number;
  prevHash: string;
}

/** What makes an appended entry a duplicate: the same reading seen again (a resent batch). */
export function entryIdentity(d: EntryDraft): string {
  if (d.kind === 'mode-change') {
    const m = d.data as ModeChangeData;
    return `mode-change@${d.sourceTsMs}:${m.fromMode ?? '-'}>${m.toMode}`;
  }
  if (d.kind === 'retention') return `retention@${d.recvMs}:${(d.data as RetentionData).removedThroughN}`;
  return `${d.kind}@${d.sourceTsMs}`;
}

export function chainEntry(draft: EntryDraft, n: number, prevHash: string): { entry: RecordEntry; canonical: string; hash: string } {
  const entry: RecordEntry = { v: RECORD_FORMAT_VERSION, ...draft, n, prevHash };
  const canonical = canonicalJson(entry as unknown as CanonicalValue);
  return { entry, canonical, hash: sha256Hex(canonical) };
}

export function degreesE7(deg: number): number {
  return Math.round(deg * 1e7);
}
