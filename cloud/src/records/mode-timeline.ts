/**
 * A vehicle's autonomy modes as the cloud has seen them, in source-time order, compressed into runs
 * (consecutive observations of one mode: the first and last source time). A mode change is a
 * boundary between two runs; states arriving out of source-time order (a drained backlog) can create
 * boundaries in the past, and each new boundary becomes a record entry (docs/records.md, "Mode
 * changes and late states").
 *
 * Between a run's first and last observation only its endpoints are kept: a late state of another
 * mode inside a run splits it into its first observation, the late state and its last observation.
 * Each boundary states an interval, (fromTsMs, tsMs], in which the change happened; a later late
 * state can narrow it but never makes it false.
 */

export interface ModeRun {
  fromTs: number;
  toTs: number;
  mode: string;
}

export interface ModeBoundary {
  /** null: no earlier observation known. */
  fromMode: string | null;
  fromTsMs: number | null;
  toMode: string;
  tsMs: number;
}

export type TimelineChange =
  /** Known already: a resend, or a state inside a run of its own mode. */
  | 'none'
  /** A run's last observation moved later (the common case: one more state of the current mode). */
  | 'extended'
  /** A run was added, split or started earlier. */
  | 'structure';

/** Index of the last run starting at or before t; -1 when none does. */
function runAtOrBefore(runs: readonly ModeRun[], t: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid]!.fromTs <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Adds the observation (t, mode) to `runs` (sorted, adjacent runs of different modes); returns the new boundaries. */
export function observeMode(runs: ModeRun[], t: number, mode: string): { change: TimelineChange; boundaries: ModeBoundary[] } {
  const i = runAtOrBefore(runs, t);
  const r = i >= 0 ? runs[i]! : undefined;
  if (r && t <= r.toTs) {
    // A state at a run's endpoint has the identity (vehicle, state, ts) of the one already seen: a replay.
    if (mode === r.mode || t === r.fromTs || t === r.toTs) return { change: 'none', boundaries: [] };
    runs.splice(
      i,
      1,
      { fromTs: r.fromTs, toTs: r.fromTs, mode: r.mode },
      { fromTs: t, toTs: t, mode },
      { fromTs: r.toTs, toTs: r.toTs, mode: r.mode },
    );
    return {
      change: 'structure',
      boundaries: [
        { fromMode: r.mode, fromTsMs: r.fromTs, toMode: mode, tsMs: t },
        { fromMode: mode, fromTsMs: t, toMode: r.mode, tsMs: r.toTs },
      ],
    };
  }
  const next = runs[i + 1];
  if (r && mode === r.mode) {
    r.toTs = t;
    return { change: 'extended', boundaries: [] };
  }
  const before = { fromMode: r?.mode ?? null, fromTsMs: r?.toTs ?? null, toMode: mode, tsMs: t };
  if (next && mode === next.mode) {
    next.fromTs = t;
    return { change: 'structure', boundaries: [before] };
  }
  runs.splice(i + 1, 0, { fromTs: t, toTs: t, mode });
  const boundaries = [before];
  if (next) boundaries.push({ fromMode: mode, fromTsMs: t, toMode: next.mode, tsMs: next.fromTs });
  return { change: 'structure', boundaries };
}

/** Drops runs that ended before `horizon`, keeping the newest, so memory stays bounded by the lateness ingest accepts. */
export function trimRuns(runs: ModeRun[], horizon: number): boolean {
  let drop = 0;
  while (drop < runs.length - 1 && runs[drop]!.toTs < horizon) drop++;
  if (drop > 0) runs.splice(0, drop);
  return drop > 0;
}
