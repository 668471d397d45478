// When a vehicle counts as stale (dimmed row, mode dot and marker). Operators ask "is this
// vehicle live?": a reading older than 10 s says no. A municipality's viewer sees positions the
// pilot's public delay late (privacy.publicPositionDelayS), so every reading they get is already
// that old; judged against 10 s alone, every bus reporting normally would look dead.

/** A reading older than this is shown dimmed, for a user who sees positions as they come. */
export const STALE_AFTER_MS = 10_000;

/** The staleness threshold for a user whose positions are shown `delayS` seconds late (0: none). */
export function staleAfterMs(delayS: number): number {
  return STALE_AFTER_MS + (Number.isFinite(delayS) && delayS > 0 ? Math.round(delayS) * 1000 : 0);
}
