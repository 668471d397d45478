/** Open live-feed connections per token (`api.maxLiveConnectionsPerToken`; per address for the anonymous viewer). */
import type { Socket } from 'node:net';

export class LiveConnectionLimit {
  /** Token id (or anonymous@address) → connections open or being opened. */
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Holds one of `key`'s places until `socket` closes; false when it holds all it may. */
  reserve(key: string, socket: Socket): boolean {
    const n = this.open.get(key) ?? 0;
    if (n >= this.max) return false;
    this.open.set(key, n + 1);
    socket.once('close', () => {
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    });
    return true;
  }
}
