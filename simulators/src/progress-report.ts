/**
 * What `michi-sim` shows while it runs and when it ends: one line of progress, rewritten in place
 * on a terminal and printed as plain lines otherwise (CI logs, pipes), then a summary.
 */
import type { PublishStats } from './publisher-mqtt.js';

export interface ProgressSnapshot extends PublishStats {
  elapsedMs: number;
}

function rate(n: number, elapsedMs: number): string {
  return elapsedMs > 0 ? ((n * 1000) / elapsedMs).toFixed(1) : '0.0';
}

export function formatProgress(s: ProgressSnapshot): string {
  return `${(s.elapsedMs / 1000).toFixed(1)} s: sent ${s.sent}, acked ${s.acked}, failed ${s.failed}, ${rate(s.acked, s.elapsedMs)} acked/s`;
}

export function formatSummary(s: ProgressSnapshot & { simulatedS: number }): string {
  const reasons = Object.entries(s.failedByReason)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return (
    `done in ${(s.elapsedMs / 1000).toFixed(1)} s (${s.simulatedS.toFixed(1)} simulated s): ` +
    `sent ${s.sent}, acked ${s.acked}, failed ${s.failed}${reasons ? ` (${reasons})` : ''}, ` +
    `${rate(s.sent, s.elapsedMs)} sent/s`
  );
}

export interface ProgressWriter {
  update(s: ProgressSnapshot): void;
  /** Clears the in-place line, if any, so the summary starts on a clean line. */
  finish(): void;
}

/** On a TTY every update rewrites one line; elsewhere only every `plainEveryMs` a new line is written. */
export function progressWriter(out: NodeJS.WritableStream & { isTTY?: boolean }, plainEveryMs = 10_000): ProgressWriter {
  let lastPlain = 0;
  let drawn = false;
  return {
    update(s) {
      const line = formatProgress(s);
      if (out.isTTY) {
        out.write(`\r\x1b[2K${line}`);
        drawn = true;
      } else if (s.elapsedMs - lastPlain >= plainEveryMs) {
        lastPlain = s.elapsedMs;
        out.write(`${line}\n`);
      }
    },
    finish() {
      if (drawn) out.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
