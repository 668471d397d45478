/**
 * The heads file: one JSON line per chain whose tip moved, `{"atMs","pilot","vehicle","n","hash"}`,
 * appended and fsynced after each transaction that appended entries. A chain alone cannot show that
 * its last entries were deleted; the newest head of each chain can, as long as the file is not
 * rewritten too (docs/records.md, "What the record guarantees", says how to anchor heads elsewhere).
 * Kept apart from the database so that one file copied off the machine (or a line of it sent to a
 * witness) anchors every chain.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ChainHead {
  atMs: number;
  pilot: string;
  vehicle: string;
  /** n of the chain's last entry when written. */
  n: number;
  hash: string;
}

const headKey = (h: { pilot: string; vehicle: string }): string => `${h.pilot}\u0000${h.vehicle}`;

function headLine(h: ChainHead): string {
  return `${JSON.stringify({ atMs: h.atMs, pilot: h.pilot, vehicle: h.vehicle, n: h.n, hash: h.hash })}\n`;
}

export class HeadFile {
  private fd: number;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.fd = openSync(file, 'a', 0o640);
  }

  /** Appends the heads and waits for them to be on disk. */
  append(heads: readonly ChainHead[]): void {
    if (heads.length === 0) return;
    writeSync(this.fd, heads.map(headLine).join(''));
    fsyncSync(this.fd);
  }

  /**
   * Rewrites the file with the newest head of each chain only (after retention), through a new file
   * renamed over the old one, so a crash leaves one or the other whole.
   */
  compact(): void {
    const latest = readHeads(this.file).heads;
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o640);
    try {
      writeSync(fd, [...latest.values()].map(headLine).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    closeSync(this.fd);
    renameSync(tmp, this.file);
    const dir = openSync(dirname(this.file), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    this.fd = openSync(this.file, 'a', 0o640);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * The newest head of each chain in `file` (later lines win), and the lines that are not heads (a
 * line cut short by a crash while it was written is the only expected one, at the end).
 */
export function readHeads(file: string): { heads: Map<string, ChainHead>; badLines: number[]; exists: boolean } {
  const heads = new Map<string, ChainHead>();
  const badLines: number[] = [];
  if (!existsSync(file)) return { heads, badLines, exists: false };
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line === '') return;
    try {
      const h = JSON.parse(line) as ChainHead;
      if (typeof h.pilot !== 'string' || typeof h.vehicle !== 'string' || !Number.isSafeInteger(h.n) || !/^[0-9a-f]{64}$/.test(h.hash)) {
        throw new Error('not a head');
      }
      heads.set(headKey(h), h);
    } catch {
      badLines.push(i + 1);
    }
  });
  return { heads, badLines, exists: true };
}

export { headKey };
