/**
 * A publisher that sends nothing and acknowledges everything at once: what `michi-sim record` runs
 * the fleet against, so a recording is made as fast as the models run, and what benchmarks use to
 * measure the simulator alone.
 */
import type { SimReading } from './fleet.js';
import type { PublishStats, ReadingPublisher } from './publisher-mqtt.js';

export class NullPublisher implements ReadingPublisher {
  private sent = 0;
  readonly inFlight = 0;

  publish(_reading: SimReading): void {
    this.sent++;
  }

  publishRaw(_reading: SimReading, _payload: Uint8Array): void {
    this.sent++;
  }

  waitForCapacity(): Promise<void> {
    return Promise.resolve();
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  stats(): PublishStats {
    return { sent: this.sent, acked: this.sent, rejected: 0, failed: 0, failedByReason: {} };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
