// The replay's one timeline: a cursor between `from` and `to` that advances at 1x–60x the wall
// clock while playing, stops at the end, and can be moved (scrubbed) at any time. Time comes in
// from outside (`tick(wallMs)`), so the clock is a pure state machine and tests need no timers.

export const REPLAY_SPEEDS = [1, 2, 5, 10, 30, 60] as const;
export type ReplaySpeed = (typeof REPLAY_SPEEDS)[number];

export class ReplayClock {
  private cursor: number;
  private playing = false;
  private lastWall: number | null = null;
  speed: ReplaySpeed = 10;

  constructor(
    public from: number,
    public to: number,
    cursor = from,
  ) {
    this.cursor = this.clamp(cursor);
  }

  get time(): number {
    return this.cursor;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  setRange(from: number, to: number): void {
    this.from = from;
    this.to = Math.max(from, to);
    this.cursor = this.clamp(this.cursor);
  }

  play(wallMs: number): void {
    // At the end, play starts over: what a person pressing play after the end means.
    if (this.cursor >= this.to) this.cursor = this.from;
    this.playing = true;
    this.lastWall = wallMs;
  }

  pause(): void {
    this.playing = false;
    this.lastWall = null;
  }

  seek(t: number): void {
    this.cursor = this.clamp(t);
  }

  /** Advances by the wall time since the last tick, times the speed; returns the cursor. */
  tick(wallMs: number): number {
    if (!this.playing) return this.cursor;
    const last = this.lastWall ?? wallMs;
    this.lastWall = wallMs;
    this.cursor = this.clamp(this.cursor + Math.max(0, wallMs - last) * this.speed);
    if (this.cursor >= this.to) this.pause();
    return this.cursor;
  }

  private clamp(t: number): number {
    return Math.min(this.to, Math.max(this.from, t));
  }
}
