/**
 * Readings a publisher has sent and not yet seen answered (acknowledged or failed), and the callers
 * waiting for room among them: counted the same way by every publisher (MQTT, edge gRPC, cloud gRPC).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class InFlight {
  private n = 0;
  private waiters: (() => void)[] = [];

  get count(): number {
    return this.n;
  }

  add(k = 1): void {
    this.n += k;
  }

  /** `k` readings were answered; whoever waits for room looks again. */
  settle(k = 1): void {
    this.n -= k;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once fewer than `max` are in flight. */
  below(max: number): Promise<void> {
    if (this.n < max) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.n < max) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /** Waits until none is in flight or `timeoutMs` passed; answers how many were left, and forgets them. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.n > 0 && Date.now() < deadline) {
      await Promise.race([this.below(1), sleep(Math.min(100, deadline - Date.now()))]);
    }
    const left = this.n;
    if (left > 0) this.settle(left);
    return left;
  }
}
