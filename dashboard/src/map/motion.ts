// Where a vehicle marker is drawn between two reports: positions are interpolated linearly (a
// second of driving is a straight line at this scale) and the heading along the shorter arc, so
// that 350° → 10° turns through north instead of spinning round.

export interface Pose {
  lon: number;
  lat: number;
  /** Degrees clockwise from north. */
  heading: number;
}

/** Beyond this jump between two reports the marker is moved at once, not slid across town. */
export const MAX_GLIDE_M = 300;

export function lerpHeading(from: number, to: number, t: number): number {
  const delta = ((((to - from) % 360) + 540) % 360) - 180;
  return (((from + delta * t) % 360) + 360) % 360;
}

export function lerpPose(from: Pose, to: Pose, t: number): Pose {
  const k = Math.min(1, Math.max(0, t));
  return {
    lon: from.lon + (to.lon - from.lon) * k,
    lat: from.lat + (to.lat - from.lat) * k,
    heading: lerpHeading(from.heading, to.heading, k),
  };
}

/** Metres between two poses, equirectangular: exact enough below a few kilometres. */
export function distanceM(a: Pose, b: Pose): number {
  const rad = Math.PI / 180;
  const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return Math.hypot(x, y) * 6_371_008.8;
}

/** One marker's glide from where it is drawn now to the latest report. */
export class Glide {
  private from: Pose;
  private to: Pose;
  private startMs = 0;
  private durationMs = 0;

  constructor(pose: Pose) {
    this.from = pose;
    this.to = pose;
  }

  /** Starts towards `target` from wherever the marker is drawn at `nowMs`. */
  retarget(target: Pose, nowMs: number, durationMs: number): void {
    const here = this.at(nowMs);
    if (distanceM(here, target) > MAX_GLIDE_M || durationMs <= 0) {
      this.jump(target);
      return;
    }
    this.from = here;
    this.to = target;
    this.startMs = nowMs;
    this.durationMs = durationMs;
  }

  jump(target: Pose): void {
    this.from = target;
    this.to = target;
    this.durationMs = 0;
  }

  at(nowMs: number): Pose {
    if (this.durationMs <= 0) return this.to;
    return lerpPose(this.from, this.to, (nowMs - this.startMs) / this.durationMs);
  }

  moving(nowMs: number): boolean {
    return this.durationMs > 0 && nowMs < this.startMs + this.durationMs;
  }

  get target(): Pose {
    return this.to;
  }
}
