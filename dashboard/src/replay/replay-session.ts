// One replay of a pilot: loads the recorded tracks of a time range from /tracks, owns the
// timeline (ReplayClock) and the animation loop, and hands every frame the pose of each vehicle
// at the cursor. It draws nothing itself; the app turns frames into markers, trails and charts.

import type { MichiApi } from '../api.js';
import type { TimeRange, TrackPoint } from '../api-types.js';
import { isAbort } from '../errors.js';
import { ReplayClock, type ReplaySpeed } from './replay-clock.js';
import { maxGapFor, normalizeTracks, poseAt, type ReplayPose } from './timeline.js';

export type ReplayState = 'loading' | 'ready' | 'empty' | 'error';

export interface ReplaySessionOptions {
  api: MichiApi;
  pilotId: string;
  onFrame(t: number, poses: ReadonlyMap<string, ReplayPose>): void;
  onState(state: ReplayState, err?: unknown): void;
  onPlaying(playing: boolean): void;
  /** Points per track asked of the API (it downsamples beyond). */
  maxPoints?: number;
  frame?: (cb: (t: number) => void) => number;
  cancelFrame?: (handle: number) => void;
  wallNow?: () => number;
}

export class ReplaySession {
  readonly clock: ReplayClock;
  tracks: ReadonlyMap<string, readonly TrackPoint[]> = new Map();
  private readonly maxPoints: number;
  /** Follows the spacing of the points asked for: a day's downsampled points are further apart than 30 s. */
  private readonly maxGapMs: number;
  private readonly abort = new AbortController();
  private handle: number | null = null;
  private readonly frame: (cb: (t: number) => void) => number;
  private readonly cancelFrame: (handle: number) => void;
  private readonly wallNow: () => number;

  constructor(
    private readonly options: ReplaySessionOptions,
    readonly range: TimeRange,
    cursor: number | null,
  ) {
    this.clock = new ReplayClock(range.from, range.to, cursor ?? range.from);
    this.maxPoints = options.maxPoints ?? 2000;
    this.maxGapMs = maxGapFor(range, this.maxPoints);
    this.frame = options.frame ?? ((cb) => requestAnimationFrame(cb));
    this.cancelFrame = options.cancelFrame ?? ((h) => cancelAnimationFrame(h));
    this.wallNow = options.wallNow ?? (() => performance.now());
  }

  async load(): Promise<void> {
    this.options.onState('loading');
    try {
      const answer = await this.options.api.tracks(this.options.pilotId, { ...this.range, maxPoints: this.maxPoints }, this.abort.signal);
      if (this.abort.signal.aborted) return;
      const tracks = normalizeTracks(answer.tracks ?? []).filter((t) => t.points.length > 0);
      this.tracks = new Map(tracks.map((t) => [t.source, t.points]));
      this.options.onState(tracks.length ? 'ready' : 'empty');
      this.emit();
    } catch (err) {
      if (this.abort.signal.aborted || isAbort(err)) return;
      this.options.onState('error', err);
    }
  }

  posesAt(t: number): Map<string, ReplayPose> {
    const poses = new Map<string, ReplayPose>();
    for (const [source, points] of this.tracks) {
      const pose = poseAt(points, t, this.maxGapMs);
      if (pose) poses.set(source, pose);
    }
    return poses;
  }

  toggle(): void {
    if (this.clock.isPlaying) this.pause();
    else this.play();
  }

  play(): void {
    this.clock.play(this.wallNow());
    this.options.onPlaying(true);
    this.loop();
  }

  pause(): void {
    this.clock.pause();
    this.options.onPlaying(false);
    if (this.handle !== null) this.cancelFrame(this.handle);
    this.handle = null;
    this.emit();
  }

  seek(t: number): void {
    this.clock.seek(t);
    if (this.clock.isPlaying) this.clock.play(this.wallNow());
    this.emit();
  }

  setSpeed(speed: ReplaySpeed): void {
    this.clock.speed = speed;
  }

  stop(): void {
    this.abort.abort();
    if (this.handle !== null) this.cancelFrame(this.handle);
    this.handle = null;
  }

  private emit(): void {
    this.options.onFrame(this.clock.time, this.posesAt(this.clock.time));
  }

  private loop(): void {
    if (this.handle !== null) return;
    const step = () => {
      this.handle = null;
      this.clock.tick(this.wallNow());
      this.emit();
      if (this.clock.isPlaying) this.handle = this.frame(step);
      else this.options.onPlaying(false);
    };
    this.handle = this.frame(step);
  }
}
