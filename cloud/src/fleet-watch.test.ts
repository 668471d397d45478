import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadCloudConfig } from './config.js';
import { startFleetWatch, type FleetWatchDeps } from './fleet-watch.js';

function config(settings: Record<string, unknown>) {
  const f = join(mkdtempSync(join(tmpdir(), 'michi-fleet-watch-')), 'cloud.yaml');
  writeFileSync(f, stringify(settings));
  return loadCloudConfig(f, {});
}

// Refused before any connection is made, so no broker is needed: these deps are never used.
const unused = { logger: pino({ level: 'silent' }) } as unknown as FleetWatchDeps;

describe('the cloud watching the workers (watch)', () => {
  it("refuses the workers' own identity, which would make the cloud take a share of the batches instead of every batch", async () => {
    await expect(
      startFleetWatch(
        config({ worker: { mode: 'nats', nats: { durable: 'michi-ingest' } }, watch: { enabled: true, clientId: 'michi-ingest' } }),
        unused,
      ),
    ).rejects.toThrow(/watch\.clientId michi-ingest is the workers' durable consumer \(worker\.nats\.durable\)/);
    await expect(
      startFleetWatch(config({ worker: { clientId: 'michi-ingest-1' }, watch: { enabled: true, clientId: 'michi-ingest-1' } }), unused),
    ).rejects.toThrow(/watch\.clientId michi-ingest-1 is a worker's client id \(worker\.clientId\)/);
  });

  it('takes a stable id that is also a valid JetStream consumer name', () => {
    expect(config({}).watch).toEqual({ enabled: false, clientId: 'michi-watch' });
    expect(() => config({ watch: { clientId: 'michi.watch' } })).toThrow(/watch\.clientId: expected 1-60 characters of A-Z a-z 0-9 _ -/);
  });
});
