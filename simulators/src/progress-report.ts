/**
 * What `michi-sim` shows while it runs and when it ends: one line of progress, rewritten in place
 * on a terminal and printed as plain lines otherwise (CI logs, pipes), then a summary.
 */
import type { PublishStats } from './publisher-mqtt.js';

export interface ProgressSnapshot extends PublishStats {
  elapsedMs: number;
  /** Share of the run done, 0..1, when its end is known: drawn as a bar. */
  fraction?: number | undefined;
}

const BAR_WIDTH = 24;

/** `[#########...............]  37%` */
export function formatBar(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * BAR_WIDTH);
  return `[${'#'.repeat(full)}${'.'.repeat(BAR_WIDTH - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

function rate(n: number, elapsedMs: number): string {
  return elapsedMs > 0 ? ((n * 1000) / elapsedMs).toFixed(1) : '0.0';
}

export function formatProgress(s: ProgressSnapshot): string {
  const bar = s.fraction !== undefined ? `${formatBar(s.fraction)} ` : '';
  return `${bar}${(s.elapsedMs / 1000).toFixed(1)} s: sent ${s.sent}, acked ${s.acked}, failed ${s.failed}, ${rate(s.acked, s.elapsedMs)} acked/s`;
}

export function formatSummary(
  s: ProgressSnapshot & { simulatedS: number; faults?: { duplicates: number; malformed: number; bursts: number } },
): string {
  const reasons = Object.entries(s.failedByReason)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return (
    `done in ${(s.elapsedMs / 1000).toFixed(1)} s (${s.simulatedS.toFixed(1)} simulated s): ` +
    `sent ${s.sent}, acked ${s.acked}, rejected ${s.rejected}, failed ${s.failed}${reasons ? ` (${reasons})` : ''}, ` +
    `${rate(s.sent, s.elapsedMs)} sent/s` +
    (s.faults && s.faults.duplicates + s.faults.malformed + s.faults.bursts > 0
      ? `; injected ${s.faults.duplicates} duplicates, ${s.faults.malformed} malformed, ${s.faults.bursts} bursts`
      : '')
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
