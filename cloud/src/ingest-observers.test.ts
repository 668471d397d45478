import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { IngestObserver } from './ingest-batch.js';
import { fanOutObservers } from './ingest-observers.js';

const gw = { pilot: 'test-town', gateway: 'gw-a', topic: 'michi/v1/test-town/gw-a/batch' };

describe('fanOutObservers', () => {
  it('is the one observer when there is one, nothing when there is none', () => {
    const one: IngestObserver = { observeBatch: () => {} };
    const log = pino({ level: 'silent' });
    expect(fanOutObservers([undefined, one], log)).toBe(one);
    expect(fanOutObservers([undefined], log)).toBeUndefined();
  });

  it('tells every observer in turn; one that throws is logged and does not stop the others', () => {
    const seen: string[] = [];
    const lines: string[] = [];
    const log = pino(new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
    const observer = fanOutObservers(
      [
        {
          observeBatch: () => {
            seen.push('alarms');
            throw new Error('disk full');
          },
        },
        { observeBatch: (_gw, recvMs, _items, valid) => seen.push(`records ${recvMs} ${valid.join(',')}`) },
      ],
      log,
    )!;
    observer.observeBatch(gw, 42, [{}, {}], [0, 1]);
    expect(seen).toEqual(['alarms', 'records 42 0,1']);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 50, pilot: 'test-town', gateway: 'gw-a', err: { message: 'disk full' } });
  });
});
